// What serve says at the terminal before it listens: a missing or too old rserver (before 1.4) is an error
// (exit 1) rather than a URL that fails in the browser; the stop advice it prints works as
// printed; and `stop` after a SIGKILLed serve removes what the killed run left.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  CliProcess,
  DOUBLE_FLAGS,
  getServeUrl,
  makeCliEnv,
  runCli,
  runPrintedStop,
} from '../helpers/cli.js';
import { httpRequest } from '../helpers/http-client.js';
import { findSocketsAndLocks, markedPids } from '../helpers/leftovers.js';
import { waitUntil } from '../helpers/proc.js';
import { FAKE_R, writeRserverVariant } from '../helpers/rserver-double.js';

const { root, env, runtimeDir } = makeCliEnv();

describe('serve checks rserver before it listens', () => {
  test('no rserver anywhere: exit 1 at the terminal, no URL, nothing left', async () => {
    const result = await runCli(
      ['serve', '--instance=none', '--listen=127.0.0.1:0', `--r=${FAKE_R}`],
      { ...env, PATH: '/usr/bin:/bin' },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stdout, '', 'no URL was printed');
    assert.match(result.stderr, /rserver not found: looked on PATH/);
    assert.match(result.stderr, /Install RStudio Server \(2024\.12\.0 or newer\)/);
    assert.equal(existsSync(join(runtimeDir, 'none')), false, 'no instance directory');
  });

  test('--rserver naming nothing, and RSESSION_PROXY_RSERVER naming nothing: exit 1 naming it', async () => {
    const flag = await runCli(['serve', '--rserver=/nonexistent/rserver'], env);
    assert.equal(flag.code, 1);
    assert.match(flag.stderr, /--rserver names \/nonexistent\/rserver/);
    const variable = await runCli(['serve'], { ...env, RSESSION_PROXY_RSERVER: '/nowhere/rs' });
    assert.equal(variable.code, 1);
    assert.match(variable.stderr, /RSESSION_PROXY_RSERVER names \/nowhere\/rs/);
  });

  test('an rserver older than 1.4: exit 1, saying so', async () => {
    const dir = join(root, 'old');
    await mkdir(dir, { mode: 0o700 });
    const old = await writeRserverVariant(dir, { RSERVER_DOUBLE_RELEASE: '1.3.1093' });
    const result = await runCli(['serve', '--instance=old', `--rserver=${old}`], env);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(
      result.stderr,
      /RStudio Server 1\.3\.1093 is too old: rsession-proxy supports 1\.4/,
    );
    assert.equal(existsSync(join(runtimeDir, 'old')), false, 'no instance directory');
  });
});

describe('the commands serve prints work as printed', () => {
  test('the stop advice names the instance (and a runtime directory that was chosen)', async () => {
    const serve = new CliProcess(
      ['serve', '--instance=advice', '--no-token', ...DOUBLE_FLAGS],
      env,
    );
    const line = await serve.waitFor(/stop with Ctrl-C or `rsession-proxy stop/);
    const { command, result } = await runPrintedStop(line, env);
    assert.equal(command, `rsession-proxy stop --instance=advice --runtime-dir=${runtimeDir}`);
    assert.ok(result);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /stopped instance advice \(supervisor pid \d+\)/);
    assert.equal((await serve.exited).code, 0);
  });

  test('a TCP listener: the URL to open here first, then the tunnel to the same port', async () => {
    const serve = new CliProcess(
      ['serve', '--instance=tcp-banner', '--listen=127.0.0.1:0', ...DOUBLE_FLAGS],
      env,
    );
    try {
      // The URLs (stdout) and the advice (stderr) come through separate pipes: wait for the
      // last URL.
      await serve.waitFor(/^ {2}http:\/\/localhost:8787\//);
      const url = getServeUrl(serve.stdout);
      assert.ok(url);
      const lines = serve.stdout.trimEnd().split('\n');
      assert.equal(lines[0], 'Open on this machine:');
      assert.equal(lines[1], `  ${url.href}`);
      assert.match(
        lines[3] ?? '',
        new RegExp(`^ {2}ssh -N -L 8787:127\\.0\\.0\\.1:${url.port} \\S+@\\S+$`),
      );
      url.host = 'localhost:8787';
      assert.equal(lines[5], `  ${url.href}`);
    } finally {
      assert.equal((await serve.stop()).code, 0, serve.stderr);
    }
  });
});

describe('stop after a SIGKILLed serve', () => {
  test('removes the stale socket and lock, says so, and leaves no process', async () => {
    const serve = new CliProcess(['serve', '--instance=killed', ...DOUBLE_FLAGS], env);
    await serve.waitFor(/^ {2}http:\/\//);
    const token = getServeUrl(serve.stdout)?.searchParams.get('token');
    assert.ok(token);
    const dir = join(runtimeDir, 'killed');
    // A signed-in request starts rserver and its rsession, which a SIGKILL leaves to fend for
    // themselves.
    const answer = await httpRequest(
      { socketPath: join(dir, 'proxy.sock') },
      { path: '/', headers: { host: 'localhost:8787', authorization: `token ${token}` } },
    );
    assert.equal(answer.status, 302);
    assert.ok(markedPids(dir).length > 0, 'rserver runs');
    serve.child.kill('SIGKILL');
    await serve.exited;
    const left = findSocketsAndLocks(runtimeDir).filter((p) => p.startsWith('killed'));
    for (const path of [
      'killed/proxy.sock',
      'killed/rserver.sock',
      'killed.lock',
      'killed.lock.json',
    ]) {
      assert.ok(left.includes(path), `the killed serve left ${path}: ${left.join(' ')}`);
    }
    const stop = await runCli(['stop', '--instance=killed'], env);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(
      stop.stderr,
      /Nothing was running for instance killed; removed what a killed run left behind/,
    );
    assert.deepEqual(
      findSocketsAndLocks(runtimeDir).filter((p) => p.startsWith('killed')),
      [],
    );
    await waitUntil(() => markedPids(dir).length === 0, 10_000, 'no process of the instance');
  });
});
