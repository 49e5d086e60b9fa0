import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CliProcess, DOUBLE_FLAGS, runCli, makeCliEnv } from '../helpers/cli.js';
import { httpRequest } from '../helpers/http-client.js';
import { markedPidsUnder } from '../helpers/leftovers.js';
import { FAKE_R, writeRserverVariant } from '../helpers/rserver-double.js';
import { isRoot, notRootReason, useUsers } from '../helpers/users.js';

const { root, env, runtimeDir } = makeCliEnv();
let dirs = 0;
const newDir = () => join(root, `s${++dirs}`);

// `exec --socket=<socket>` with `flags`, rserver the double unless a flag names another.
function startExec(socket: string, ...flags: string[]): CliProcess {
  const rserver = flags.some((flag) => flag.startsWith('--rserver='))
    ? [`--r=${FAKE_R}`]
    : DOUBLE_FLAGS;
  return new CliProcess(['exec', `--socket=${socket}`, ...flags, ...rserver], env);
}

describe('rsession-proxy exec', () => {
  test('in a fresh 0700 directory: ready, answers over the socket, SIGTERM exits 143 and leaves nothing', async () => {
    const dir = newDir();
    mkdirSync(dir, { mode: 0o700 });
    const socket = join(dir, 'rstudio.sock');
    const exec = startExec(socket, '--root-path=/user/a/rstudio/');
    await exec.waitFor(/serving RStudio on /);
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    await exec.waitFor(/rserver ready \(pid \d+\)/);
    const reply = await httpRequest(
      { socketPath: socket },
      { path: '/', headers: { host: 'hub.example' } },
    );
    assert.equal(reply.status, 302);
    assert.equal(
      reply.headers.location,
      'http://hub.example/user/a/rstudio/auth-sign-in?appUri=%2F',
    );
    assert.equal(
      (await httpRequest({ socketPath: socket }, { path: '/auth-sign-in?appUri=%2F' })).status,
      302,
    );
    assert.equal(markedPidsUnder(runtimeDir).length >= 1, true);

    const exit = await exec.stop('SIGTERM');
    assert.equal(exit.code, 143, exec.stderr);
    assert.deepEqual(markedPidsUnder(runtimeDir), [], 'rserver and rsession are gone');
    assert.equal(existsSync(socket), false, 'socket removed');
    assert.deepEqual(readdirSync(runtimeDir), [], 'lock released, state directory removed');
  });

  test('creates a missing socket directory with mode 0700; --log-format=json writes JSON lines', async () => {
    const dir = newDir();
    const socket = join(dir, 'rstudio.sock');
    const exec = startExec(socket, '--log-format=json');
    await exec.waitFor(/rserver ready/);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal((await exec.stop('SIGINT')).code, 130);
    const lines = exec.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { time: string; level: string; message: string });
    assert.ok(lines.length >= 4);
    for (const line of lines)
      assert.ok(
        !Number.isNaN(Date.parse(line.time)) && line.level && line.message,
        JSON.stringify(line),
      );
    assert.ok(lines.some((line) => /^rserver ready \(pid \d+\) in [\d.]+ s$/.test(line.message)));
  });

  test('refuses a 0755 socket directory, naming it and its mode', async () => {
    const dir = newDir();
    mkdirSync(dir, { mode: 0o755 });
    const result = await runCli(['exec', `--socket=${join(dir, 's.sock')}`, ...DOUBLE_FLAGS], env);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`Refusing to use ${dir}: its mode is 0755`));
    // The directory came with --socket: the advice is about the socket, not --runtime-dir.
    assert.match(result.stderr, /directory that is yours with mode 0700 .*exec --socket/);
    assert.doesNotMatch(result.stderr, /--runtime-dir/, 'the directory came from --socket');
  });

  test('a refused rserver argument exits 2 and creates nothing, not even the socket directory', async () => {
    const dir = newDir();
    const result = await runCli(
      ['exec', `--socket=${join(dir, 's.sock')}`, ...DOUBLE_FLAGS, '--', '--www-port=8787'],
      env,
    );
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /--www-port/);
    assert.equal(existsSync(dir), false);
  });

  test('refuses a socket path over 107 bytes', async () => {
    const socket = join(root, 'x'.repeat(110), 's.sock');
    const result = await runCli(['exec', `--socket=${socket}`, ...DOUBLE_FLAGS], env);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /is \d+ bytes long; Unix socket paths are limited to 107 bytes/);
  });

  test('--isolation=socket with an rserver older than 2024.12.0: exec stays up and every request says why (no restart loop)', async () => {
    const dir = newDir();
    await mkdir(dir, { mode: 0o700 });
    const old = await writeRserverVariant(dir, { RSERVER_DOUBLE_RELEASE: '2024.04.2+764' });
    const socket = join(dir, 's.sock');
    const exec = startExec(socket, `--rserver=${old}`, '--isolation=socket');
    const refused =
      /needs an rserver that listens on a Unix socket .*2024\.04\.2 has no --www-socket/;
    assert.match(await exec.waitFor(/rserver did not start/), refused);
    const reply = await httpRequest({ socketPath: socket }, { path: '/' });
    assert.equal(reply.status, 503);
    assert.match(reply.body.toString(), refused);
    assert.equal(exec.child.exitCode, null, 'still in the foreground');
    assert.equal((await exec.stop('SIGTERM')).code, 143, exec.stderr);
    assert.equal(existsSync(socket), false);
  });

  test('RSESSION_PROXY_ISOLATION=password: said plainly as a warning at start, and the sign-in works', async () => {
    const dir = newDir();
    await mkdir(dir, { mode: 0o700 });
    const old = await writeRserverVariant(dir, { RSERVER_DOUBLE_RELEASE: '2024.04.2+764' });
    const socket = join(dir, 's.sock');
    const exec = new CliProcess(
      ['exec', `--socket=${socket}`, `--rserver=${old}`, `--r=${FAKE_R}`],
      { ...env, RSESSION_PROXY_ISOLATION: 'password' },
    );
    await exec.waitFor(/rserver ready/);
    assert.match(exec.stderr, /isolation password: rserver listens on a port of 127\.0\.0\.1/);
    assert.match(exec.stderr, /warn: .*every user of this host can connect/);
    const reply = await httpRequest(
      { socketPath: socket },
      { path: '/', headers: { host: 'hub.example' } },
    );
    assert.equal(reply.status, 302, reply.body.toString());
    assert.equal(reply.headers.location, './');
    assert.match(String(reply.headers['set-cookie']), /user-id=/);
    assert.equal((await exec.stop('SIGTERM')).code, 143, exec.stderr);
    assert.deepEqual(markedPidsUnder(runtimeDir), []);
    assert.equal(existsSync(socket), false);
  });

  test('rserver crashing again and again is started again, with a growing wait, and exec stays', async () => {
    const dir = newDir();
    await mkdir(dir, { mode: 0o700 });
    const crashing = await writeRserverVariant(dir, {
      RSERVER_DOUBLE_EXIT_AFTER_MS: '1000',
      RSERVER_DOUBLE_EXIT_CODE: '7',
    });
    const socket = join(dir, 's.sock');
    const exec = startExec(socket, `--rserver=${crashing}`);
    await exec.waitFor(/rserver crashed 2 times in a row: starting it again in 1 s/);
    await exec.waitFor(/rserver crashed 3 times in a row: starting it again in 2 s/);
    assert.match(exec.stderr, /exited with code 7 while running/);
    assert.ok((exec.stderr.match(/rserver ready \(pid \d+\)/g) ?? []).length >= 3, exec.stderr);
    assert.equal(exec.child.exitCode, null, 'still in the foreground');
    assert.equal((await exec.stop('SIGTERM')).code, 143, exec.stderr);
    assert.equal(existsSync(socket), false);
    assert.deepEqual(markedPidsUnder(runtimeDir), []);
  });

  test('status lists an exec as it lists a serve, and stop --socket ends it', async () => {
    const dir = newDir();
    const socket = join(dir, 'rstudio.sock');
    const exec = startExec(socket, '--root-path=/user/a/rstudio/');
    await exec.waitFor(/rserver ready/);
    const status = await runCli(['status', '--json'], env);
    assert.equal(status.code, 0, status.stderr);
    const { instances } = JSON.parse(status.stdout) as {
      instances: { kind: string; running: boolean; listener: string | null; prefix: string }[];
    };
    assert.equal(instances.length, 1, status.stdout);
    assert.deepEqual(
      instances.map(({ kind, running, listener, prefix }) => ({ kind, running, listener, prefix })),
      [{ kind: 'exec', running: true, listener: `unix:${socket}`, prefix: '/user/a/rstudio/' }],
    );
    const stop = await runCli(['stop', `--socket=${socket}`], env);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await exec.exited).code, 143, exec.stderr);
    assert.equal(existsSync(socket), false);
    assert.deepEqual(readdirSync(runtimeDir), [], 'nothing left in the runtime directory');
  });

  test('a second exec on the same socket exits 3 naming the first', async () => {
    const dir = newDir();
    const socket = join(dir, 'rstudio.sock');
    const first = startExec(socket);
    await first.waitFor(/serving RStudio on /);
    try {
      const second = await runCli(['exec', `--socket=${socket}`, ...DOUBLE_FLAGS], env);
      assert.equal(second.code, 3);
      assert.match(second.stderr, new RegExp(`already in use by pid ${first.child.pid}`));
    } finally {
      assert.equal((await first.stop()).code, 143);
    }
  });

  describe('as another real user', { skip: isRoot ? false : notRootReason }, () => {
    const users = useUsers('owner');
    test("refuses a socket directory owned by another user (someone else's trap)", async () => {
      const dir = newDir();
      mkdirSync(dir, { mode: 0o700 });
      chownSync(dir, users.owner.uid, users.owner.gid);
      const result = await runCli(
        ['exec', `--socket=${join(dir, 's.sock')}`, ...DOUBLE_FLAGS],
        env,
      );
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        new RegExp(`owned by ${users.owner.name} \\(uid ${users.owner.uid}\\)`),
      );
      assert.equal(existsSync(join(dir, 's.sock')), false);
    });
  });
});
