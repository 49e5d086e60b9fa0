import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { acquireLock, readLockHolder } from '../../lib/index.js';
import { makeTempDir } from '../helpers/temp.js';
import { spawnFixture, waitForExit, waitForLine, waitUntil } from '../helpers/processes.js';

const holdLock = join(import.meta.dirname, '..', 'fixtures', 'hold-lock.js');

function newTarget(): string {
  return join(makeTempDir(), 'instance');
}

async function startHolder(
  target: string,
  socket = '/run/x.sock',
  env = {},
): Promise<ChildProcess> {
  const child = spawnFixture(holdLock, [target, socket], env);
  await waitForLine(child, /^locked \d+$/);
  return child;
}

describe('instance lock', () => {
  test('a second acquirer gets ELOCKED naming the holder pid and socket', async () => {
    const target = newTarget();
    const holder = await startHolder(target, '/tmp/rsp/rserver.sock');
    try {
      await assert.rejects(
        acquireLock(target),
        (error: Error & { code?: string; pid?: number }) => {
          assert.equal(error.code, 'ELOCKED');
          assert.equal(error.pid, holder.pid);
          assert.match(error.message, new RegExp(`pid ${holder.pid} on ${hostname()}`));
          assert.match(error.message, /serving \/tmp\/rsp\/rserver\.sock/);
          return true;
        },
      );
      const seen = await readLockHolder(target);
      assert.equal(seen?.pid, holder.pid);
    } finally {
      holder.kill('SIGKILL');
      await waitForExit(holder);
    }
  });

  test('metadata is private and goes away with the lock on release', async () => {
    const target = newTarget();
    const lock = await acquireLock(target, { socket: '/s' });
    assert.equal(statSync(`${target}.lock.json`).mode & 0o777, 0o600);
    assert.equal((await readLockHolder(target))?.pid, process.pid);
    await lock.release();
    assert.equal(existsSync(`${target}.lock`), false);
    assert.equal(existsSync(`${target}.lock.json`), false);
    assert.equal(await readLockHolder(target), undefined);
    await (await acquireLock(target)).release();
  });

  test('a holder that was SIGKILLed is reclaimed at once, its pid being dead', async () => {
    const target = newTarget();
    const holder = await startHolder(target);
    holder.kill('SIGKILL');
    await waitForExit(holder);
    assert.ok(existsSync(`${target}.lock`), 'SIGKILL leaves the lock directory behind');
    const started = Date.now();
    const lock = await acquireLock(target);
    assert.ok(Date.now() - started < 15_000);
    assert.equal((await readLockHolder(target))?.pid, process.pid);
    await lock.release();
  });

  test('a recorded pid that now names another process does not keep the lock', async () => {
    const target = newTarget();
    const holder = await startHolder(target);
    holder.kill('SIGKILL');
    await waitForExit(holder);
    // This test's own pid is alive, but its start time is not the one recorded: the pid was reused.
    const metadata = JSON.parse(readFileSync(`${target}.lock.json`, 'utf8')) as Record<
      string,
      unknown
    >;
    writeFileSync(
      `${target}.lock.json`,
      JSON.stringify({ ...metadata, pid: process.pid, startTime: 1 }),
    );
    const started = Date.now();
    const lock = await acquireLock(target);
    assert.ok(Date.now() - started < 5000, 'taken at once, not after the stale period');
    await lock.release();
  });

  test('a frozen holder (alive, not refreshing) is taken over after the stale period', async () => {
    const target = newTarget();
    const holder = await startHolder(target, '/s', { LOCK_STALE_MS: '3000' });
    holder.kill('SIGSTOP');
    try {
      await assert.rejects(acquireLock(target, { stale: 3000 }), { code: 'ELOCKED' });
      const waited = await waitUntil(
        () =>
          acquireLock(target, { stale: 3000 }).then(
            async (lock) => (await lock.release(), true),
            () => false,
          ),
        15_000,
        'stale lock taken over',
      );
      assert.ok(waited >= 1000, `taken over after ${waited} ms, before the stale period`);
    } finally {
      holder.kill('SIGKILL');
      await waitForExit(holder);
    }
  });

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    test(`released when the holder gets ${signal}`, async () => {
      const target = newTarget();
      const holder = await startHolder(target);
      holder.kill(signal);
      const exit = await waitForExit(holder);
      assert.equal(exit.signal, signal);
      assert.equal(existsSync(`${target}.lock`), false);
      assert.equal(existsSync(`${target}.lock.json`), false);
    });
  }

  test('two processes racing for the lock, 20 rounds: exactly one wins each round', async () => {
    const target = newTarget();
    const racers = [0, 1].map(() => spawnFixture(holdLock, [target, '--ipc'], {}, true));
    const ask = (child: ChildProcess, command: string) =>
      new Promise<{ won?: boolean; code?: string }>((resolve) => {
        child.once('message', (message) => resolve(message as { won?: boolean }));
        child.send(command);
      });
    try {
      for (let round = 0; round < 20; round++) {
        const results = await Promise.all(racers.map((racer) => ask(racer, 'acquire')));
        const winners = results.filter((result) => result.won);
        assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(results)}`);
        assert.equal(results.find((result) => !result.won)?.code, 'ELOCKED');
        await Promise.all(racers.map((racer) => ask(racer, 'release')));
      }
    } finally {
      for (const racer of racers) racer.kill('SIGKILL');
      await Promise.all(racers.map((racer) => waitForExit(racer)));
    }
  });
});
