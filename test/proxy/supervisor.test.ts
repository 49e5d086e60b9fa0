// The adapter with the real Supervisor as its Backend, the rserver double behind it: rserver
// starts on the first request, once, and again after a crash.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import { createSupervisor, type RSessionProxyError } from '../../lib/index.js';
import { browse } from '../helpers/browser.js';
import { fetchText } from '../helpers/fetch-text.js';
import { closeFront, startFront } from '../helpers/front.js';
import { makeLaunchEnv } from '../helpers/launch-env.js';
import { writeRserverVariant } from '../helpers/rserver-double.js';

const HTML = 'text/html,application/xhtml+xml,*/*;q=0.8';
const { root, options } = makeLaunchEnv();

describe('the adapter with a Supervisor', () => {
  test('first page load starts rserver; requests meanwhile wait; a crash restarts it on demand', async () => {
    const supervisor = createSupervisor({ ...options, instance: 'adapter' });
    const front = await startFront({ backend: supervisor, prefix: '/rstudio' });
    after(async () => {
      await closeFront(front);
      await supervisor.close();
    });
    assert.equal(supervisor.state, 'stopped');

    const page = await fetchText(`${front.origin}/rstudio/`, { headers: { accept: HTML } });
    assert.equal(page.status, 503);
    assert.match(page.body, /Starting RStudio…/);
    // Not a page load: waits for the start that the page load began, then signs in.
    const { visits } = await browse(`${front.origin}/rstudio/`);
    assert.equal(visits.at(-1)?.answer.status, 200);
    assert.equal(supervisor.state, 'running');
    assert.equal(supervisor.status.restarts, 0);
    const first = supervisor.rserver?.pid;

    const crashed = once(supervisor, 'crash') as Promise<[RSessionProxyError]>;
    process.kill(first ?? 0, 'SIGKILL');
    await crashed;
    const again = await browse(`${front.origin}/rstudio/`);
    assert.equal(again.visits.at(-1)?.answer.status, 200);
    assert.notEqual(supervisor.rserver?.pid, first);
    assert.equal(supervisor.status.restarts, 1);
  });

  test('a request while a dying rserver refuses connections is told RStudio restarts (503), not that it is unreachable', async () => {
    // The double stops accepting 1 s after it is ready and ends 300 ms later, its socket file
    // left behind, as a crashing rserver's end does (in a moment too short to hit at will).
    const rserver = await writeRserverVariant(root, {
      RSERVER_DOUBLE_EXIT_AFTER_MS: '1000',
      RSERVER_DOUBLE_DYING_MS: '300',
    });
    const supervisor = createSupervisor({ ...options, rserver, instance: 'adapter-dying' });
    const front = await startFront({ backend: supervisor, prefix: '/rstudio' });
    after(async () => {
      await closeFront(front);
      await supervisor.close();
    });
    await supervisor.ensureRunning();
    const seen = { crash: false };
    supervisor.once('crash', () => (seen.crash = true));
    // Bursts of requests, more at once than the adapter keeps connections to rserver, until the
    // supervisor has seen rserver end: the first connections of a burst find rserver's cut, the
    // ones after it its refusal.
    const answers: { status: number; body: string }[] = [];
    for (let round = 0; round < 1000 && !seen.crash; round++) {
      const burst = await Promise.all(
        Array.from({ length: 6 }, () =>
          fetchText(`${front.origin}/rstudio/auth-sign-in?appUri=%2F`, {
            headers: { accept: 'application/json' },
          }),
        ),
      );
      answers.push(...burst);
    }
    assert.ok(seen.crash, 'the double ended while requests came');
    const others = answers.filter((answer) => answer.status !== 302);
    for (const answer of others) {
      // A request already on a connection rserver had accepted (read or being written) is cut off
      // with it: 502, said so.
      if (answer.status === 502) {
        assert.match(
          answer.body,
          /ECONNRESET|EPIPE|socket hang up|broke off/,
          JSON.stringify(answer),
        );
        continue;
      }
      assert.equal(answer.status, 503, JSON.stringify(answer));
      assert.match(answer.body, /RStudio is restarting/, JSON.stringify(answer));
    }
    assert.ok(
      others.some((answer) => answer.status === 503),
      `a refused connection is answered 503: ${JSON.stringify(others)}`,
    );
  });

  test('a refused request starts nothing', async () => {
    const supervisor = createSupervisor({ ...options, instance: 'adapter-refused' });
    const front = await startFront({
      backend: supervisor,
      prefix: '/rstudio',
      authorize: () => false,
    });
    after(async () => {
      await closeFront(front);
      await supervisor.close();
    });
    assert.equal(
      (await fetchText(`${front.origin}/rstudio/`, { headers: { accept: HTML } })).status,
      403,
    );
    assert.equal(supervisor.state, 'stopped');
    assert.equal(supervisor.rserver, undefined);
  });
});
