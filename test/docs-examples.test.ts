import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeLaunchEnv } from './helpers/launch-env.js';
import { waitForExit, waitForLine } from './helpers/processes.js';
import { FAKE_R, RSERVER_DOUBLE } from './helpers/rserver-double.js';
import { markedPids } from './helpers/leftovers.js';

const repo = join(import.meta.dirname, '..', '..');
const { root, options } = makeLaunchEnv();
// The examples find rserver and R the way a user's would: through the environment.
const env = { ...options.env, RSESSION_PROXY_RSERVER: RSERVER_DOUBLE, RSTUDIO_WHICH_R: FAKE_R };

function runExample(name: string) {
  return spawn(process.execPath, [join(repo, 'docs', 'examples', name)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('docs/examples run as documented', () => {
  for (const [name, instance, ready] of [
    ['launch.js', 'example', /^ready: pid \d+, socket /],
    ['supervise.js', 'example-supervised', /^ready on /],
  ] as const) {
    test(name, async () => {
      const child = runExample(name);
      await waitForLine(child, ready, 20_000);
      const target = join(root, 'rt', instance);
      assert.equal(markedPids(target).length, 1);
      child.kill('SIGINT');
      await waitForLine(child, /^(stopped|closed)$/);
      assert.equal((await waitForExit(child)).code, 0);
      assert.deepEqual(markedPids(target), []);
      assert.equal(existsSync(join(target, 'rserver.sock')), false);
    });
  }
});
