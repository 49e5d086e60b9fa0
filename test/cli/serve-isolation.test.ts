// serve says at its start what keeps other users away from RStudio, before the first request
// starts rserver: plainly when it is only a password; a level that cannot be had stops it there.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CliProcess, makeCliEnv, runCli } from '../helpers/cli.js';
import { FAKE_R, makeVariantWriter } from '../helpers/rserver-double.js';

const { root, env } = makeCliEnv();
const variant = makeVariantWriter(root);
const OLD = { RSERVER_DOUBLE_RELEASE: '2024.04.2+764' };

// serve's stderr once it has said its isolation and printed where it listens; then it is stopped.
async function startAndStop(args: string[]): Promise<string> {
  const serve = new CliProcess(['serve', ...args, `--r=${FAKE_R}`], env);
  try {
    await serve.waitFor(/rserver starts on the first request/);
  } finally {
    assert.equal((await serve.stop()).code, 0, serve.stderr);
  }
  return serve.stderr;
}

describe('rsession-proxy serve --isolation', () => {
  test('password: said plainly at start', async () => {
    const rserver = await variant(OLD);
    const stderr = await startAndStop([
      '--instance=pw',
      '--isolation=password',
      `--rserver=${rserver}`,
    ]);
    assert.match(stderr, /isolation password: rserver listens on a port of 127\.0\.0\.1/);
    assert.match(stderr, /warn: .*every user of this host can connect/);
  });

  test('socket asked of an rserver without --www-socket: exit 1 before anything listens', async () => {
    const rserver = await variant(OLD);
    const result = await runCli(
      ['serve', '--instance=sock', '--isolation=socket', `--rserver=${rserver}`, `--r=${FAKE_R}`],
      env,
    );
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stdout, '', 'no URL was printed');
    assert.match(
      result.stderr,
      /--isolation=socket needs an rserver that listens on a Unix socket/,
    );
  });

  test('RSESSION_PROXY_ISOLATION is read as --isolation is', async () => {
    const rserver = await variant(OLD);
    const result = await runCli(
      ['serve', '--instance=sock-env', `--rserver=${rserver}`, `--r=${FAKE_R}`],
      {
        ...env,
        RSESSION_PROXY_ISOLATION: 'socket',
      },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /--isolation=socket needs an rserver that listens on a Unix socket/,
    );
  });

  test('an unknown level is refused before anything starts', async () => {
    const result = await runCli(['serve', '--isolation=none', `--r=${FAKE_R}`], env);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /one of auto, socket, namespace, password, got "none"/);
  });
});
