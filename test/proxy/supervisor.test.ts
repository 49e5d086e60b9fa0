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

const HTML = 'text/html,application/xhtml+xml,*/*;q=0.8';
const { options } = makeLaunchEnv();

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
