// Fault: the supervisor (`serve`) is SIGKILLed, so none of its cleanup runs. rserver must die
// with it (setpriv's parent-death signal); the rsession rserver started outlives both, as the
// real one does. The next `serve` of that instance must start anyway — the dead holder's lock
// and rserver's stale socket reclaimed — and stop the orphaned rsession.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeCliEnv, serveDoubleArgs, startCli } from '../helpers/cli.js';
import { findSocketsAndLocks, markedPids } from '../helpers/leftovers.js';
import { isAlive } from '../helpers/proc.js';
import { waitForExit, waitUntil } from '../helpers/processes.js';
import { fetchServed, getServeStatus, signIn } from '../helpers/served.js';

test('serve SIGKILLed: rserver follows within 2 s; the next serve reclaims the instance and stops the orphaned rsession', async (t) => {
  const { env, runtimeDir } = makeCliEnv();
  const instanceDir = join(runtimeDir, 'default');
  const socketPath = join(instanceDir, 'rserver.sock');
  const first = await startCli(serveDoubleArgs(), env);
  await signIn(first);
  const rserverPid = (await getServeStatus(first)).pid ?? 0;
  const [rsessionPid, ...others] = markedPids(instanceDir).filter((pid) => pid !== rserverPid);
  assert.ok(rsessionPid !== undefined && others.length === 0, 'one rsession after sign-in');

  first.child.kill('SIGKILL');
  await waitForExit(first.child);
  const killedAt = Date.now();
  await waitUntil(() => !isAlive(rserverPid), 2000, 'rserver to die with its supervisor');
  const rserverGoneMs = Date.now() - killedAt;
  assert.ok(isAlive(rsessionPid), 'rsession outlives rserver, as the real one does');
  assert.ok(existsSync(`${instanceDir}.lock`), 'the dead supervisor left its lock');
  assert.ok(lstatSync(socketPath).isSocket(), 'rserver, killed by a signal, left its socket');

  const second = await startCli(serveDoubleArgs(), env, 20_000);
  const startedMs = Date.now() - killedAt;
  const holder = JSON.parse(readFileSync(`${instanceDir}.lock.json`, 'utf8')) as { pid: number };
  assert.equal(holder.pid, second.pid, 'the new serve holds the lock');
  assert.ok(!existsSync(socketPath), 'the stale socket was removed');
  await waitUntil(() => !isAlive(rsessionPid), 10_000, 'the orphaned rsession to be stopped');
  const orphanGoneMs = Date.now() - killedAt;

  const answer = await fetchServed(second, '/rstudio/files/x.bin?size=10');
  assert.equal(answer.status, 200);
  assert.ok(lstatSync(socketPath).isSocket());
  t.diagnostic(
    `after the SIGKILL: rserver gone in ${rserverGoneMs} ms, the next serve ready in ${startedMs} ms, the orphaned rsession stopped in ${orphanGoneMs} ms`,
  );

  assert.deepEqual(await second.stop(), { code: 0, signal: null }, second.stderr());
  assert.deepEqual(markedPids(instanceDir), []);
  assert.deepEqual(findSocketsAndLocks(runtimeDir), []);
});
