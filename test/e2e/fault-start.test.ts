// Faults of rserver itself, through serve: it exits at once with each failure RSERVER.md lists,
// it hangs at start, it ignores SIGTERM. The client must get a 503 that carries rserver's own
// line and what to do about it (a browser too, after the "Starting RStudio…" page), a hung
// rserver must be stopped after --timeout, one that ignores SIGTERM must be SIGKILLed after
// the grace period — and nothing may be left behind: no process with the instance's marker,
// no socket, no lock.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeCliEnv, serveDoubleArgs, startCli } from '../helpers/cli.js';
import { findSocketsAndLocks, markedPids } from '../helpers/leftovers.js';
import { waitUntil } from '../helpers/processes.js';
import { DOUBLE_FAILURES, writeRserverVariant } from '../helpers/rserver-double.js';
import { fetchServed, getServeStatus, signIn } from '../helpers/served.js';

interface ErrorBody {
  error: { status: number; code: string; message: string };
}

// What a script sees: the JSON error of a request while rserver cannot start.
async function getStartError(cli: Parameters<typeof fetchServed>[0]): Promise<ErrorBody> {
  const answer = await fetchServed(cli, '/rstudio/files/x.bin?size=1', { timeout: 30_000 });
  assert.equal(answer.status, 503, answer.body);
  return JSON.parse(answer.body) as ErrorBody;
}

function assertNothingLeft(runtimeDir: string): void {
  assert.deepEqual(markedPids(join(runtimeDir, 'default')), []);
  assert.equal(existsSync(join(runtimeDir, 'default', 'rserver.sock')), false);
}

// rserver's own checks of arguments passed through serve (after `--`): [argument, line, hint]
const BAD_ARGUMENTS: [string, RegExp, RegExp][] = [
  ['--no-such-option=1', /unrecognised option '--no-such-option'/, /does not know/],
  ['--www-same-site=strict', /Invalid SameSite option: strict/, /"none" or "lax"/],
];

describe('rserver failing at start, through serve', () => {
  test('each known failure reaches the client as a 503 with rserver’s line and a hint; nothing is left', async (t) => {
    const { root, env, runtimeDir } = makeCliEnv();
    // One serve; the rserver it runs is rewritten between requests, each start reading it anew.
    const rserver = await writeRserverVariant(root, {});
    const cli = await startCli(serveDoubleArgs({ rserver }), env);
    for (const [fail, line, hint] of DOUBLE_FAILURES) {
      await writeRserverVariant(root, { RSERVER_DOUBLE_FAIL: fail });
      const { error } = await getStartError(cli);
      assert.equal(error.code, 'EUNAVAILABLE');
      assert.match(
        error.message,
        /^RStudio could not be started: rserver exited with code 1 before it was ready: /,
      );
      assert.match(error.message, line);
      assert.match(error.message, hint);
      assertNothingLeft(runtimeDir);
      t.diagnostic(`${fail}: 503 ${error.message.split('\n').at(-1) ?? ''}`);
    }

    // A browser: "Starting RStudio…" first (the start runs in the background), then the reason.
    await writeRserverVariant(root, { RSERVER_DOUBLE_FAIL: 'r-not-found' });
    const html = { headers: { accept: 'text/html' } };
    const starting = await fetchServed(cli, '/rstudio/', html);
    assert.equal(starting.status, 503);
    assert.match(starting.body, /Starting RStudio/);
    await waitUntil(
      async () => /real path of R script/.test((await getServeStatus(cli)).lastError ?? ''),
      20_000,
      'the background start to fail',
    );
    const page = await fetchServed(cli, '/rstudio/', html);
    assert.equal(page.status, 503);
    assert.match(page.body, /Unable to determine real path of R script/);
    assert.doesNotMatch(
      page.body,
      /http-equiv="refresh"/,
      'the reason is shown, not reloaded away',
    );

    // Fixed, the next request starts it.
    await writeRserverVariant(root, {});
    assert.equal((await fetchServed(cli, '/rstudio/files/x.bin?size=1')).status, 200);
    assert.deepEqual(await cli.stop(), { code: 0, signal: null }, cli.stderr());
    assertNothingLeft(runtimeDir);
    assert.deepEqual(findSocketsAndLocks(runtimeDir), []);
  });

  for (const [argument, line, hint] of BAD_ARGUMENTS) {
    test(`a failure caused by an argument for rserver (${argument}) says so`, async () => {
      const { env, runtimeDir } = makeCliEnv();
      const cli = await startCli(serveDoubleArgs({ args: ['--', argument] }), env);
      const { error } = await getStartError(cli);
      assert.match(error.message, /rserver exited with code 1 before it was ready: /);
      assert.match(error.message, line);
      assert.match(error.message, hint);
      assert.deepEqual(await cli.stop(), { code: 0, signal: null }, cli.stderr());
      assertNothingLeft(runtimeDir);
      assert.deepEqual(findSocketsAndLocks(runtimeDir), []);
    });
  }

  test('an rserver that hangs at start is stopped after --timeout, and the client is told', async () => {
    const { root, env, runtimeDir } = makeCliEnv();
    const rserver = await writeRserverVariant(root, { RSERVER_DOUBLE_HANG: '1' });
    const cli = await startCli(serveDoubleArgs({ rserver, args: ['--timeout=2'] }), env);
    const { error } = await getStartError(cli);
    assert.equal(error.code, 'EUNAVAILABLE');
    assert.match(error.message, /did not answer on \S+rserver\.sock within 2 s/);
    assert.match(error.message, /--timeout/);
    assertNothingLeft(runtimeDir);
    assert.deepEqual(await cli.stop(), { code: 0, signal: null }, cli.stderr());
    assert.deepEqual(findSocketsAndLocks(runtimeDir), []);
  });

  test('an rserver that ignores SIGTERM is SIGKILLed after the grace period when serve stops', async (t) => {
    const { root, env, runtimeDir } = makeCliEnv();
    const rserver = await writeRserverVariant(root, {
      RSERVER_DOUBLE_IGNORE_SIGTERM: '1',
      RS_LOG_LEVEL: 'INFO',
    });
    const cli = await startCli(serveDoubleArgs({ rserver, args: ['--verbose'] }), env);
    await signIn(cli);
    const pid = (await getServeStatus(cli)).pid ?? 0;
    assert.equal(markedPids(join(runtimeDir, 'default')).length, 2, 'rserver and its rsession');
    const stopping = Date.now();
    assert.deepEqual(await cli.stop(30_000), { code: 0, signal: null }, cli.stderr());
    t.diagnostic(`serve stopped in ${Date.now() - stopping} ms (grace period 5 s)`);
    assert.match(cli.stderr(), /Ignoring SIGTERM/, 'rserver was asked first');
    assert.ok(!markedPids(join(runtimeDir, 'default')).includes(pid));
    assertNothingLeft(runtimeDir);
    assert.deepEqual(findSocketsAndLocks(runtimeDir), []);
  });
});
