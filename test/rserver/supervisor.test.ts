import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  INSTANCE_MARKER,
  createSupervisor,
  isRSessionProxyError,
  type RSessionProxyError,
} from '../../lib/index.js';
import { httpRequest } from '../helpers/http-client.js';
import { makeLaunchEnv } from '../helpers/launch-env.js';
import { readInstanceProcesses } from '../helpers/leftovers.js';
import { isAlive, waitUntil } from '../helpers/proc.js';
import { spawnFixture, waitForExit, waitForLine } from '../helpers/processes.js';
import { writeRserverVariant } from '../helpers/rserver-double.js';
import { markedPids } from '../helpers/leftovers.js';

const { root, options } = makeLaunchEnv();
const runSupervisor = join(import.meta.dirname, '..', 'fixtures', 'run-supervisor.js');
let variants = 0;

async function variant(env: Record<string, string>): Promise<string> {
  const dir = join(root, `variant-${++variants}`);
  await mkdir(dir);
  return writeRserverVariant(dir, env);
}

describe('Supervisor with the rserver double', () => {
  test('10 concurrent ensureRunning() start exactly one rserver', async () => {
    const supervisor = createSupervisor({ ...options, instance: 'single' });
    try {
      const states: string[] = [];
      supervisor.on('state', (state: string) => states.push(state));
      const results = await Promise.all(
        Array.from({ length: 10 }, () => supervisor.ensureRunning()),
      );
      assert.equal(new Set(results.map((r) => r.socketPath)).size, 1);
      assert.deepEqual(markedPids(supervisor.layout.dir), [supervisor.rserver?.pid]);
      assert.deepEqual(states, ['starting', 'running']);
      assert.equal(supervisor.status.restarts, 0);
    } finally {
      await supervisor.close();
    }
    assert.deepEqual(markedPids(supervisor.layout.dir), []);
    assert.equal(existsSync(`${supervisor.layout.dir}.lock`), false);
  });

  for (const code of ['1', '0']) {
    test(`a crash while running (exit code ${code}) fires 'crash'; the next ensureRunning() starts a new pid`, async () => {
      const rserver = await variant({
        RSERVER_DOUBLE_EXIT_AFTER_MS: '2000',
        RSERVER_DOUBLE_EXIT_CODE: code,
      });
      const supervisor = createSupervisor({ ...options, instance: `crash-${code}`, rserver });
      try {
        const crashed = once(supervisor, 'crash') as Promise<[RSessionProxyError]>;
        await supervisor.ensureRunning();
        const first = supervisor.rserver?.pid;
        const [error] = await crashed;
        assert.ok(isRSessionProxyError(error, 'ERSERVERCRASHED'));
        assert.equal(error.exitCode, Number(code));
        assert.match(
          error.message,
          new RegExp(`rserver \\(pid ${first}\\) exited with code ${code} while running`),
        );
        assert.equal(supervisor.state, 'stopped');
        assert.equal(supervisor.lastError, error);
        await supervisor.ensureRunning();
        assert.notEqual(supervisor.rserver?.pid, first);
        assert.equal(supervisor.status.restarts, 1);
      } finally {
        await supervisor.close();
      }
    });
  }

  test('stop() keeps the lock and a later ensureRunning() starts again; close() releases it', async () => {
    const supervisor = createSupervisor({ ...options, instance: 'restart' });
    await supervisor.ensureRunning();
    const first = supervisor.rserver?.pid;
    await supervisor.stop();
    assert.equal(supervisor.state, 'stopped');
    assert.ok(existsSync(`${supervisor.layout.dir}.lock`), 'lock kept while stopped');
    assert.equal(existsSync(supervisor.layout.socketPath), false);
    await supervisor.ensureRunning();
    assert.notEqual(supervisor.rserver?.pid, first);
    await supervisor.close();
    assert.equal(existsSync(`${supervisor.layout.dir}.lock`), false);
    await assert.rejects(supervisor.ensureRunning(), { code: 'ECLOSED' });
  });

  test('the socket deleted while running (a tmp cleaner) is detected, and rserver restarts', async () => {
    const supervisor = createSupervisor({ ...options, instance: 'cleaned', watchInterval: 100 });
    try {
      await supervisor.ensureRunning();
      const first = supervisor.rserver?.pid;
      const crashed = once(supervisor, 'crash') as Promise<[RSessionProxyError]>;
      rmSync(supervisor.layout.socketPath);
      const [error] = await crashed;
      assert.match(error.message, /socket .* disappeared while rserver was running/);
      assert.equal(supervisor.state, 'stopped');
      assert.ok(first !== undefined && !isAlive(first));
      const { socketPath } = await supervisor.ensureRunning();
      const reply = await httpRequest({ socketPath }, { path: '/' });
      assert.equal(reply.status, 302);
    } finally {
      await supervisor.close();
    }
  });

  test('check() finds a deleted socket at once, without waiting for the watch', async () => {
    const supervisor = createSupervisor({
      ...options,
      instance: 'checked',
      watchInterval: 600_000,
    });
    try {
      await supervisor.ensureRunning();
      const first = supervisor.rserver?.pid;
      await supervisor.check();
      assert.equal(supervisor.state, 'running', 'nothing is wrong yet');
      rmSync(supervisor.layout.socketPath);
      const crashed = once(supervisor, 'crash');
      await Promise.all([supervisor.check(), supervisor.check()]);
      assert.equal(supervisor.state, 'stopping', 'the restart begins as the check returns');
      assert.match(supervisor.lastError?.message ?? '', /socket .* disappeared/);
      await crashed;
      assert.ok(first !== undefined && !isAlive(first));
      await supervisor.ensureRunning();
      assert.notEqual(supervisor.rserver?.pid, first);
      assert.equal(supervisor.status.restarts, 1);
    } finally {
      await supervisor.close();
    }
  });

  test('the whole runtime directory deleted while running: detected, rebuilt, restarted', async () => {
    const supervisor = createSupervisor({ ...options, instance: 'wiped', watchInterval: 100 });
    try {
      await supervisor.ensureRunning();
      const crashed = once(supervisor, 'crash');
      rmSync(join(root, 'rt'), { recursive: true, force: true });
      await crashed;
      const { socketPath } = await supervisor.ensureRunning();
      assert.equal((await httpRequest({ socketPath }, { path: '/' })).status, 302);
    } finally {
      await supervisor.close();
    }
  });

  test('supervisor SIGKILLed while an rsession runs: both end with it, and the next supervisor starts', async () => {
    const instance = 'killed';
    const child = spawnFixture(runSupervisor, [JSON.stringify({ ...options, instance })]);
    const [, pid, socketPath] = (await waitForLine(child, /^ready \d+ /, 20_000)).split(' ');
    assert.ok(pid && socketPath);
    assert.equal(
      (await httpRequest({ socketPath }, { path: '/auth-sign-in?appUri=%2F' })).status,
      302,
    );
    const target = join(root, 'rt', instance);
    await waitUntil(
      () => readInstanceProcesses(target).some((p) => p.name === 'rsession'),
      5000,
      'rsession to start',
    );
    assert.ok(readInstanceProcesses(target).some((p) => p.pid === Number(pid)));

    child.kill('SIGKILL');
    await waitForExit(child);
    await waitUntil(() => readInstanceProcesses(target).length === 0, 5000, 'both to end');

    const supervisor = createSupervisor({ ...options, instance });
    try {
      await supervisor.ensureRunning();
      assert.equal((await httpRequest({ socketPath }, { path: '/' })).status, 302);
    } finally {
      await supervisor.close();
    }
  });

  test('a marked process some earlier run left behind is stopped as soon as the next supervisor takes the instance', async () => {
    const instance = 'leftover';
    const target = join(root, 'rt', instance);
    // As an earlier release of rsession-proxy left an rsession: in a session of its own, with
    // the marker, nobody's child.
    const orphan = spawn('sleep', ['600'], {
      env: { ...process.env, [INSTANCE_MARKER]: target },
      detached: true,
      stdio: 'ignore',
    });
    await waitUntil(() => readInstanceProcesses(target).length === 1, 5000, 'the orphan');
    const supervisor = createSupervisor({ ...options, instance });
    try {
      // Taking the instance is enough: an orphan must not wait for the next visitor.
      await supervisor.open();
      assert.deepEqual(readInstanceProcesses(target), []);
      assert.equal((await waitForExit(orphan)).signal, 'SIGTERM');
    } finally {
      await supervisor.close();
    }
  });
});
