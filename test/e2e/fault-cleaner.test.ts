// Fault: a temporary-file cleaner deletes rserver's socket, or the whole private instance
// directory, while serve runs. serve must notice by itself (it checks every 2 s, and at once when
// a connection to the socket fails), say why, stop that rserver, answer meanwhile with an error
// that says what is wrong rather than hang, and serve the next request from a new rserver in a
// rebuilt private directory.
//
// Connections the proxy already holds to rserver survive the deletion (the socket is gone from
// the directory, not closed), so a busy proxy carries on through them until the restart. A
// fresh connection cannot reach rserver: with the proxy's pool idle, the first request after the
// deletion fails to connect, which makes the supervisor check at once: that request gets a 503
// saying the socket disappeared, never a bare 502.
import assert from 'node:assert/strict';
import { lstatSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { makeCliEnv, serveDoubleArgs, startCli } from '../helpers/cli.js';
import { findSocketsAndLocks, markedPids } from '../helpers/leftovers.js';
import { isAlive } from '../helpers/proc.js';
import { countUnixConnections } from '../helpers/proc-usage.js';
import { waitUntil } from '../helpers/processes.js';
import { fetchServed, getServeStatus, signIn } from '../helpers/served.js';

const CASES = [
  {
    what: 'the socket file',
    path: (dir: string) => join(dir, 'rserver.sock'),
    reason: /The socket .* disappeared while rserver was running/,
    pool: 'idle',
  },
  {
    what: 'the private directory',
    path: (dir: string) => dir,
    reason: /The instance directory .* disappeared while rserver was running/,
    pool: 'busy',
  },
  {
    what: 'the whole runtime directory (with the lock)',
    path: (dir: string) => dirname(dir),
    // Whichever notices first: the supervisor's watch, or the lock's own update.
    reason:
      /The instance directory .* disappeared while rserver was running|The lock on .* disappeared while it was held/,
    pool: 'busy',
  },
] as const;

describe('a temporary-file cleaner strikes while serve runs', () => {
  for (const { what, path, reason, pool } of CASES) {
    test(`${what} deleted (the proxy's pool ${pool}): detected, explained, rserver restarted`, async (t) => {
      const { env, runtimeDir } = makeCliEnv();
      const instanceDir = join(runtimeDir, 'default');
      const cli = await startCli(serveDoubleArgs(), env);
      await signIn(cli);
      const oldPid = (await getServeStatus(cli)).pid ?? 0;
      // The pool closes connections idle for 4 s.
      if (pool === 'idle')
        await waitUntil(
          () => countUnixConnections(join(instanceDir, 'rserver.sock')) === 0,
          15_000,
          'the pool to close its idle connections',
        );

      const deletedAt = Date.now();
      rmSync(path(instanceDir), { recursive: true });
      // Requests in the meantime get an answer — through, or an error naming the cause — and
      // the status endpoint (which never starts rserver) shows the supervisor's verdict.
      const answers = new Map<string, number>();
      let firstFailure = '';
      await waitUntil(
        async () => {
          const answer = await fetchServed(cli, '/rstudio/files/x.bin?size=10', {
            timeout: 10_000,
          });
          const code = /"code":"(\w+)"/.exec(answer.body)?.[1] ?? '';
          const key = `${answer.status}${code && ` ${code}`}`;
          if (answer.status !== 200) firstFailure ||= answer.body;
          answers.set(key, (answers.get(key) ?? 0) + 1);
          if (answer.status !== 200) {
            assert.ok([502, 503].includes(answer.status), `${answer.status} ${answer.body}`);
            assert.match(
              answer.body,
              /RStudio (is not reachable|is restarting|could not be started)/,
            );
          }
          const status = await getServeStatus(cli);
          return status.pid !== oldPid && status.state === 'running';
        },
        30_000,
        'a new rserver',
      );
      const recoveredMs = Date.now() - deletedAt;
      assert.ok(!isAlive(oldPid), 'the rserver whose socket was gone was stopped');
      assert.match(cli.stderr(), reason);
      if (pool === 'idle') {
        assert.ok(answers.has('503 EUNAVAILABLE'), JSON.stringify([...answers]));
        assert.ok(!answers.has('502 EBACKEND'), JSON.stringify([...answers]));
        assert.match(firstFailure, /RStudio is restarting: The socket .* disappeared/);
      }
      const stats = lstatSync(instanceDir);
      assert.equal(stats.mode & 0o777, 0o700, 'the instance directory is private again');
      assert.ok(lstatSync(join(instanceDir, 'rserver.sock')).isSocket());
      assert.equal((await fetchServed(cli, '/rstudio/files/y.bin?size=10')).status, 200);
      t.diagnostic(
        `new rserver ${recoveredMs} ms after the deletion; answers meanwhile: ${[...answers].map(([k, n]) => `${n}× ${k}`).join(', ')}`,
      );

      assert.deepEqual(await cli.stop(), { code: 0, signal: null }, cli.stderr());
      assert.deepEqual(markedPids(instanceDir), []);
      assert.deepEqual(findSocketsAndLocks(runtimeDir), []);
    });
  }
});
