// Files and pids are trusted only when they are provably the user's own (issue #11): another
// real user plants locks and status files, and swaps the runtime directory under a TMPDIR they
// can write to; the victim's stop, status, doctor and serve believe none of it.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, CliProcess, DOUBLE_FLAGS } from '../helpers/cli.js';
import { httpRequest } from '../helpers/http-client.js';
import { processStat, waitUntil } from '../helpers/proc.js';
import { waitForLine } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp.js';
import {
  asUser,
  execAsUser,
  isRoot,
  notRootReason,
  useUsers,
  type TestUser,
} from '../helpers/users.js';

const RECORDER = join(import.meta.dirname, '..', 'fixtures', 'signal-recorder.js');

// Runs a command of the CLI as `user` to its end.
function cliAs(user: TestUser, args: readonly string[], env: Record<string, string>) {
  const [command, argv] = execAsUser(user, process.execPath, [CLI, ...args], env);
  const result = spawnSync(command, argv, { encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

// Runs a shell command as `user` (the attacker's few shell lines).
function shAs(user: TestUser, script: string): void {
  const [command, argv] = asUser(user, '/bin/sh', ['-c', script]);
  const result = spawnSync(command, argv, { encoding: 'utf8' });
  assert.equal(result.status, 0, `${script}: ${result.stderr}`);
}

describe(
  'what another user plants is never believed',
  { skip: isRoot ? false : notRootReason },
  () => {
    const users = useUsers('victim', 'attacker');
    // Like /tmp on a login node: world-writable and sticky.
    const shared = makeTempDir('rsp-shared-');
    chmodSync(shared, 0o1777);
    // Like a group's scratch directory both can write to, without the sticky bit.
    const scratch = makeTempDir('rsp-scratch-');
    chmodSync(scratch, 0o777);
    let victimEnv: Record<string, string> = {};
    let recorder: ChildProcess;
    let recorderOutput = '';
    let recorderPid = 0;

    before(async () => {
      const data = join(shared, 'victim-data');
      mkdirSync(data, { mode: 0o700 });
      spawnSync('chown', [`${users.victim.uid}:${users.victim.gid}`, data]);
      victimEnv = { TMPDIR: shared, XDG_DATA_HOME: data, HOME: data };
      // One of the victim's processes, which the attacker would like the victim to signal.
      const [command, argv] = execAsUser(users.victim, process.execPath, [RECORDER]);
      recorder = spawn(command, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
      recorder.stdout?.on('data', (chunk: Buffer) => (recorderOutput += chunk.toString()));
      recorderPid = Number((await waitForLine(recorder, /^ready \d+$/)).split(' ')[1]);
    });

    after(() => {
      recorder.stdin?.end();
      rmSync(`/tmp/rsession-proxy-${users.victim.uid}`, { recursive: true, force: true });
    });

    // The lock records an attacker could write: the victim's own process with its real start time
    // (readable by anyone in /proc), every pid that means "many processes", and other junk.
    const holders = () => {
      const startTime = processStat(recorderPid)?.startTime;
      const base = { hostname: spawnSync('hostname').stdout.toString().trim(), since: 'now' };
      return [
        { ...base, pid: recorderPid, startTime },
        { ...base, pid: recorderPid },
        { ...base, pid: -1 },
        { ...base, pid: 0 },
        { ...base, pid: 1 },
        { ...base, pid: String(recorderPid) },
      ];
    };

    // Plants `<base>/default.lock/`, `<base>/default.lock.json` and `<base>/default/status.json`,
    // as the attacker, in a base they made in one of the ways open to them.
    const plants: { name: string; plant: (base: string, holder: object) => void }[] = [
      {
        name: 'a base the attacker created first (0700)',
        plant: (base, holder) => shAs(users.attacker, plantScript(base, holder, 'mkdir -m 700')),
      },
      {
        name: 'a base the attacker created first (0777)',
        plant: (base, holder) => shAs(users.attacker, plantScript(base, holder, 'mkdir -m 777')),
      },
      {
        name: "a symlink to the attacker's directory",
        plant: (base, holder) => {
          const theirs = join(shared, `theirs-${users.attacker.uid}`);
          shAs(
            users.attacker,
            `${plantScript(theirs, holder, 'mkdir -m 777')} && ln -s ${theirs} ${base}`,
          );
        },
      },
    ];

    for (const { name, plant } of plants) {
      test(`${name}: stop and status refuse to read it, and signal nothing`, () => {
        const base = join(shared, `rsession-proxy-${users.victim.uid}`);
        for (const holder of holders()) {
          rmSync(base, { recursive: true, force: true });
          rmSync(join(shared, `theirs-${users.attacker.uid}`), { recursive: true, force: true });
          plant(base, holder);
          const stop = cliAs(users.victim, ['stop'], victimEnv);
          assert.equal(stop.code, 1, `${JSON.stringify(holder)}: ${stop.stderr}`);
          assert.match(
            stop.stderr,
            /Refusing to read .*(owned by|symbolic link).*nothing was signalled/s,
          );
          assert.doesNotMatch(stop.stderr, /stopping|supervisor pid/);
          const status = cliAs(users.victim, ['status', '--json'], victimEnv);
          assert.equal(status.code, 0, status.stderr);
          const listed = JSON.parse(status.stdout) as { instances: unknown[]; refused: string[] };
          assert.deepEqual(listed.instances, [], 'the planted instance is not reported');
          assert.match(listed.refused.join('\n'), new RegExp(base));
        }
        rmSync(base, { recursive: true, force: true });
      });
    }

    test('a TMPDIR the attacker can write to: its tree is skipped, stop looks where the victim lives', () => {
      const tmp = join(scratch, 'tmp');
      shAs(users.attacker, `mkdir -m 777 ${tmp}`);
      const env = { ...victimEnv, TMPDIR: tmp };
      for (const holder of holders()) {
        const base = join(tmp, `rsession-proxy-${users.victim.uid}`);
        rmSync(base, { recursive: true, force: true });
        shAs(users.attacker, plantScript(base, holder, 'mkdir -m 700'));
        const stop = cliAs(users.victim, ['stop'], env);
        assert.equal(stop.code, 0, stop.stderr);
        assert.match(
          stop.stderr,
          new RegExp(
            `Nothing is running for instance default \\(/tmp/rsession-proxy-${users.victim.uid}/default\\)`,
          ),
        );
        const status = cliAs(users.victim, ['status', '--json'], env);
        assert.deepEqual((JSON.parse(status.stdout) as { instances: unknown[] }).instances, []);
      }
    });

    test("the victim's own stale lock naming another of its processes: refused, not signalled", () => {
      const runtimeDir = join(shared, `own-${users.victim.uid}`);
      const [holder] = holders();
      const plantedByVictim = plantScript(join(runtimeDir), holder ?? {}, 'mkdir -m 700');
      shAs(users.victim, plantedByVictim);
      const stop = cliAs(users.victim, ['stop', `--runtime-dir=${runtimeDir}`], victimEnv);
      assert.equal(stop.code, 1, stop.stderr);
      assert.match(
        stop.stderr,
        new RegExp(`Refusing to signal pid ${recorderPid}: .* not this instance's supervisor`),
      );
    });

    test('after all of it, nothing of the victim was signalled', async () => {
      process.kill(recorderPid, 'SIGWINCH');
      await waitUntil(() => recorderOutput.includes('got SIGWINCH'), 5000, 'the sentinel signal');
      assert.equal(recorderOutput.trim().split('\n').slice(1).join('\n'), 'got SIGWINCH');
    });

    test("the runtime directory swap: rserver never binds in the attacker's directory", async () => {
      const tmp = join(scratch, 'swap');
      shAs(users.attacker, `mkdir -m 777 ${tmp}`);
      const env = { ...victimEnv, TMPDIR: tmp };
      const args = ['serve', '--listen=127.0.0.1:0', ...DOUBLE_FLAGS];
      const serve = new CliProcess(
        args,
        process.env,
        execAsUser(users.victim, process.execPath, [CLI, ...args], env),
      );
      try {
        const warning = await serve.waitFor(/is not used/);
        assert.match(
          warning,
          new RegExp(
            `${tmp}/rsession-proxy-${users.victim.uid} is not used: ${scratch} above it is not safe \\(its mode is 0777 \\(owned by root \\(uid 0\\)\\)`,
          ),
        );
        const urlLine = await serve.waitFor(/^\s+http:\/\/127\.0\.0\.1:\d+/);
        // The attacker renames whatever is there away and plants a tree of theirs in its place.
        const theirs = join(tmp, 'theirs');
        shAs(
          users.attacker,
          `mkdir -m 777 ${theirs} && mv ${tmp}/rsession-proxy-${users.victim.uid} ${tmp}/moved 2>/dev/null; ln -s ${theirs} ${tmp}/rsession-proxy-${users.victim.uid}`,
        );
        const url = new URL(urlLine.trim());
        const reply = await httpRequest(
          { host: '127.0.0.1', port: Number(url.port) },
          { path: `/_rsession-proxy/health`, headers: { host: 'localhost' } },
        );
        assert.equal(reply.status, 200);
        const signIn = await httpRequest(
          { host: '127.0.0.1', port: Number(url.port) },
          {
            path: '/',
            headers: {
              host: 'localhost',
              authorization: `token ${url.searchParams.get('token') ?? ''}`,
            },
          },
        );
        assert.equal(signIn.status, 302, 'rserver started and answered');
        const victimDir = `/tmp/rsession-proxy-${users.victim.uid}/default`;
        assert.ok(
          existsSync(join(victimDir, 'rserver.sock')),
          'rserver bound in the victim’s own directory',
        );
        assert.deepEqual(
          readdirSync(theirs),
          [],
          "nothing of the victim's in the attacker's directory",
        );
      } finally {
        assert.equal((await serve.stop('SIGTERM')).code, 0, serve.stderr);
      }
    });

    test('a --runtime-dir below a directory others can write to is refused; doctor names it', () => {
      const tmp = join(scratch, 'pinned');
      shAs(users.attacker, `mkdir -m 777 ${tmp}`);
      const runtimeDir = join(tmp, 'rsp');
      const serve = cliAs(
        users.victim,
        ['serve', `--runtime-dir=${runtimeDir}`, ...DOUBLE_FLAGS],
        victimEnv,
      );
      assert.equal(serve.code, 1, serve.stderr);
      assert.match(
        serve.stderr,
        new RegExp(`Refusing to use ${runtimeDir}: ${scratch} above it is not safe`),
      );
      assert.equal(existsSync(runtimeDir), false);
      const doctor = cliAs(users.victim, ['doctor', ...DOUBLE_FLAGS], {
        ...victimEnv,
        TMPDIR: tmp,
      });
      assert.match(
        doctor.stdout,
        new RegExp(
          `! runtime directory parents safe: ${tmp}/rsession-proxy-${users.victim.uid}: ${scratch} above it is not safe`,
        ),
      );
    });
  },
);

// The attacker's shell lines: a base, a lock directory and its holder record, and a status file
// full of their own text.
function plantScript(base: string, holder: object, mkdirBase: string): string {
  const status = {
    kind: 'serve',
    instance: 'default',
    pid: (holder as { pid?: unknown }).pid,
    socket: '/home/attacker/their.sock',
    listener: 'attacker.example:80',
    startedAt: 'now',
    state: 'running',
  };
  const quote = (text: string) => `'${text.replace(/'/g, "'\\''")}'`;
  return [
    `${mkdirBase} ${base}`,
    `mkdir -m 700 ${base}/default.lock ${base}/default`,
    `printf %s ${quote(JSON.stringify(holder))} > ${base}/default.lock.json`,
    `printf %s ${quote(JSON.stringify(status))} > ${base}/default/status.json`,
  ].join(' && ');
}
