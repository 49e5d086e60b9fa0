import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { RSessionProxyError } from '../../lib/index.js';
import { FakeBackend } from '../helpers/fake-backend.js';
import { closeFront, startFront } from '../helpers/front.js';
import { fetchText } from '../helpers/fetch-text.js';
import { waitUntil } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp.js';
import { startTinyBackend, type TinyBackend } from '../helpers/tiny-backend.js';
import { closeWebSocket, nextMessage, openWebSocket } from '../helpers/ws-client.js';

const HTML = 'text/html,application/xhtml+xml,*/*;q=0.8';
const JSON_ACCEPT = 'application/json';

interface ErrorBody {
  error: { status: number; code?: string; message: string };
}

describe('with a supervised backend that starts on demand', () => {
  const dir = makeTempDir('rsp-start-');
  let tiny: TinyBackend;
  before(async () => {
    tiny = await startTinyBackend(dir);
  });
  after(() => tiny.close());

  // A fresh stopped backend and front for each test; the front is closed after the test.
  async function setUp(startTimeout = 5000) {
    const backend = new FakeBackend(tiny.socketPath);
    const errors: RSessionProxyError[] = [];
    const front = await startFront({
      backend,
      prefix: '/rstudio',
      startTimeout,
      authorize: (req) => req.headers['x-test-deny'] === undefined,
      onError: (error) => errors.push(error),
    });
    after(() => closeFront(front));
    return { backend, front, errors };
  }

  test('a page load gets "Starting RStudio…" at once and starts rserver; the reload gets RStudio', async () => {
    const { backend, front } = await setUp();
    const first = await fetchText(`${front.origin}/rstudio/`, { headers: { accept: HTML } });
    assert.equal(first.status, 503);
    assert.match(first.body, /Starting RStudio…/);
    assert.match(first.body, /http-equiv="refresh"/);
    assert.equal(first.headers['retry-after'], '2');
    assert.equal(backend.starts, 1);
    const head = await fetchText(`${front.origin}/rstudio/`, {
      method: 'HEAD',
      headers: { accept: HTML },
    });
    assert.equal(head.status, 503);
    assert.equal(head.body, '');
    assert.equal(backend.starts, 1, 'concurrent starts are one start');
    backend.ready();
    const reload = await fetchText(`${front.origin}/rstudio/echo`, { headers: { accept: HTML } });
    assert.equal(reload.status, 200);
  });

  test('other requests wait for readiness, then go through', async () => {
    const { backend, front } = await setUp();
    const waiting = fetchText(`${front.origin}/rstudio/echo/x`, {
      headers: { accept: JSON_ACCEPT },
    });
    const upgrading = openWebSocket(`ws://127.0.0.1:${front.port}/rstudio/p/1/`);
    await backend.whenStarting();
    backend.ready();
    const answer = await waiting;
    assert.equal(answer.status, 200);
    assert.equal((JSON.parse(answer.body) as { url: string }).url, '/echo/x');
    const ws = await upgrading;
    ws.send('after start');
    assert.equal(await nextMessage(ws), 'after start');
    await closeWebSocket(ws);
    assert.equal(backend.starts, 1);
  });

  test('a wait longer than startTimeout ends in 503 with the reason, and is abandoned', async () => {
    const { backend, front, errors } = await setUp(300);
    backend.lastError = new Error(
      'rserver exited with code 1: ERROR Attempt to run server as user',
    );
    const answer = await fetchText(`${front.origin}/rstudio/rpc/x`, {
      method: 'POST',
      body: '{}',
      headers: { accept: JSON_ACCEPT },
    });
    assert.equal(answer.status, 503);
    const { error } = JSON.parse(answer.body) as ErrorBody;
    assert.equal(error.code, 'EUNAVAILABLE');
    assert.match(error.message, /did not become ready within 0.3 s: rserver exited with code 1/);
    assert.ok(backend.signals.at(-1)?.aborted, 'the signal given to ensureRunning is aborted');
    assert.equal(errors.at(-1)?.code, 'EUNAVAILABLE');
    await assert.rejects(openWebSocket(`ws://127.0.0.1:${front.port}/rstudio/p/1/`), {
      status: 503,
    });
  });

  test('a failed start: waiting requests get its reason; a page load shows it once, then retries', async () => {
    const { backend, front } = await setUp();
    const waiting = fetchText(`${front.origin}/rstudio/echo`, { headers: { accept: JSON_ACCEPT } });
    await backend.whenStarting();
    const page = await fetchText(`${front.origin}/rstudio/`, { headers: { accept: HTML } });
    assert.match(page.body, /Starting RStudio…/);
    backend.fail('rserver exited with code 1 before it was ready: ERROR boom');
    const answer = await waiting;
    assert.equal(answer.status, 503);
    assert.match(
      (JSON.parse(answer.body) as ErrorBody).error.message,
      /could not be started: rserver exited with code 1/,
    );

    const shown = await fetchText(`${front.origin}/rstudio/`, { headers: { accept: HTML } });
    assert.equal(shown.status, 503);
    assert.match(
      shown.body,
      /could not be started: rserver exited with code 1 before it was ready: ERROR boom/,
    );
    assert.doesNotMatch(shown.body, /http-equiv="refresh"/, 'a failure does not reload in a loop');
    const starts = backend.starts;
    const retried = await fetchText(`${front.origin}/rstudio/`, { headers: { accept: HTML } });
    assert.match(retried.body, /Starting RStudio…/);
    assert.equal(backend.starts, starts + 1);
  });

  test('authorize runs before any start: a refused request or upgrade starts nothing', async () => {
    const { backend, front } = await setUp();
    const page = await fetchText(`${front.origin}/rstudio/`, {
      headers: { accept: HTML, 'x-test-deny': '1' },
    });
    assert.equal(page.status, 403);
    await assert.rejects(
      openWebSocket(`ws://127.0.0.1:${front.port}/rstudio/p/1/`, [], { 'x-test-deny': '1' }),
      { status: 403 },
    );
    assert.equal(backend.starts, 0);
    assert.equal(backend.state, 'stopped');
  });

  test('rserver dies while restarting: 503, and a page load gets the starting page', async () => {
    const { backend, front } = await setUp();
    backend.ready();
    const crashOnReset = (req: { url?: string }) => {
      if (req.url === '/reset') backend.crash('starting');
    };
    tiny.server.prependListener('request', crashOnReset);
    after(() => tiny.server.off('request', crashOnReset));
    const xhr = await fetchText(`${front.origin}/rstudio/reset`, {
      headers: { accept: JSON_ACCEPT },
    });
    assert.equal(xhr.status, 503);
    const { error } = JSON.parse(xhr.body) as ErrorBody;
    assert.equal(error.code, 'EUNAVAILABLE');
    assert.match(error.message, /RStudio is restarting/);
    backend.ready();
    const page = await fetchText(`${front.origin}/rstudio/reset`, { headers: { accept: HTML } });
    assert.equal(page.status, 503);
    assert.match(page.body, /Starting RStudio…/);
  });

  test('clients that leave while rserver starts are not carried to it', async () => {
    const { backend, front } = await setUp();
    const seen = tiny.seen.length;
    const req = request(`${front.origin}/rstudio/echo`, { agent: false });
    req.on('error', () => undefined);
    req.end();
    const upgrade = request(`${front.origin}/rstudio/p/1/`, {
      agent: false,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-version': '13',
      },
    });
    upgrade.on('error', () => undefined);
    upgrade.end();
    await waitUntil(() => backend.signals.length === 2, 5000, 'both to wait for the start');
    req.destroy();
    upgrade.destroy();
    await waitUntil(
      () => backend.signals.every((signal) => signal?.aborted === true),
      5000,
      'both waits to be abandoned',
    );
    backend.ready();
    assert.equal((await fetchText(`${front.origin}/rstudio/echo`)).status, 200);
    assert.equal(tiny.seen.length, seen + 1, 'only the last request reached rserver');
  });

  test('close() answers nothing more and ends requests still waiting for a start', async () => {
    const { backend, front } = await setUp();
    const waiting = fetchText(`${front.origin}/rstudio/echo`, {
      headers: { accept: JSON_ACCEPT },
    }).then(
      (answer) => answer.status,
      () => 'closed',
    );
    await backend.whenStarting();
    await front.adapter.close();
    assert.equal(await waiting, 'closed');
    assert.ok(backend.signals.at(-1)?.aborted);
    const late = await fetchText(`${front.origin}/rstudio/echo`, {
      headers: { accept: JSON_ACCEPT },
    });
    assert.equal(late.status, 503);
    assert.match(late.body, /shutting down/);
    await closeFront(front);
  });
});
