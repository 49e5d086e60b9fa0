// The adapter on a plain node:http server in front of the rserver double: what a browser sees.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startDouble, type RunningDouble } from '../helpers/double-process.js';
import { browse, cookieAttributes } from '../helpers/browser.js';
import { fetchText } from '../helpers/fetch-text.js';
import { closeFront, startFront, type Front } from '../helpers/front.js';
import { cookieHeader } from '../helpers/http-client.js';
import { waitUntil } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp.js';
import { closeWebSocket, nextMessage, openWebSocket } from '../helpers/ws-client.js';
import { IDE_PAGE_TITLE } from '../fixtures/rserver/ide-page.js';

describe('in front of the rserver double, under /rstudio', () => {
  const dir = makeTempDir('rsp-dbl-');
  let double: RunningDouble;
  let front: Front;
  let trusting: Front;

  before(async () => {
    double = await startDouble(dir, {
      RSERVER_DOUBLE_LONG_POLL_MS: '60000',
      RS_LOG_LEVEL: 'DEBUG',
    });
    front = await startFront({ backend: double.socketPath, prefix: '/rstudio' });
    trusting = await startFront({
      backend: double.socketPath,
      prefix: '/rstudio',
      trustProxy: true,
    });
  });
  after(async () => {
    await closeFront(front);
    await closeFront(trusting);
    await double.stop();
  });

  test('the sign-in chain: every Location on the client host and prefix, cookies on the prefix', async () => {
    const host = `hub.example.org:${front.port}`;
    const { visits, setCookies } = await browse(`${front.origin}/rstudio/`, { host });
    assert.deepEqual(
      visits.map((visit) => visit.answer.status),
      [302, 302, 200],
      visits.map((visit) => `${visit.url} → ${visit.answer.status}`).join('\n'),
    );
    for (const { answer } of visits.slice(0, -1)) {
      assert.match(answer.headers.location ?? '', new RegExp(`^http://${host}/rstudio/`));
    }
    assert.match(visits[0]?.answer.headers.location ?? '', /\/rstudio\/auth-sign-in\?appUri=%2F$/);
    assert.equal(visits[1]?.answer.headers.location, `http://${host}/rstudio/`);
    assert.ok((visits[2]?.answer.body ?? '').includes(`<h1>${IDE_PAGE_TITLE}</h1>`));
    const names = setCookies.map((line) => line.split('=')[0]);
    assert.deepEqual(names, [
      // rserver clears the sign-in cookies on its redirect to the sign-in page (1.4 and later),
      'user-id',
      'user-list-id',
      'persist-auth',
      // then sets them, with the CSRF cookie under its current and its old name (2022.02 on).
      'user-id',
      'user-list-id',
      'persist-auth',
      'rs-csrf-token',
      'csrf-token',
    ]);
    for (const line of setCookies) {
      const attributes = cookieAttributes(line);
      assert.equal(attributes.get('path'), '/rstudio', line);
      assert.ok(!attributes.has('secure'), line);
    }
  });

  test('behind a trusted https proxy: https Locations on its host, Secure cookies', async () => {
    const headers = {
      host: `127.0.0.1:${trusting.port}`,
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'hub.example.org, proxy.internal:8000',
      'x-forwarded-port': '8888',
    };
    const { visits, setCookies } = await browse(`${trusting.origin}/rstudio/`, headers);
    assert.equal(visits.at(-1)?.answer.status, 200);
    for (const { answer } of visits.slice(0, -1)) {
      assert.match(answer.headers.location ?? '', /^https:\/\/hub\.example\.org\/rstudio\//);
    }
    assert.equal(setCookies.length, 8);
    for (const line of setCookies) assert.ok(cookieAttributes(line).has('secure'), line);
  });

  test('RPC: X-RS-CSRF-Token passes through, and so does its absence', async () => {
    const { jar } = await browse(`${front.origin}/rstudio/`);
    const token = jar.get('rs-csrf-token') ?? '';
    assert.notEqual(token, '');
    const rpc = (headers: Record<string, string>) =>
      fetchText(`${front.origin}/rstudio/rpc/get_state`, {
        method: 'POST',
        body: '{"method":"get_state","params":[]}',
        headers: { cookie: cookieHeader(jar), 'content-type': 'application/json', ...headers },
      });
    const accepted = await rpc({ 'x-rs-csrf-token': token });
    assert.deepEqual(JSON.parse(accepted.body), {
      result: { method: 'get_state', bytes: 34 },
    });
    const refused = await rpc({});
    assert.equal((JSON.parse(refused.body) as { error?: { code: number } }).error?.code, 3);
  });

  test('WebSocket echo with text and binary frames; refused without the sign-in cookie', async () => {
    const { jar } = await browse(`${front.origin}/rstudio/`);
    const url = `ws://127.0.0.1:${front.port}/rstudio/p/0a1b2c3d/terminal/1/`;
    const ws = await openWebSocket(url, ['rstudio-terminal'], { cookie: cookieHeader(jar) });
    try {
      assert.equal(ws.protocol, 'rstudio-terminal');
      ws.send('ls -la');
      assert.equal(await nextMessage(ws), 'ls -la');
      const binary = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0]);
      ws.send(binary);
      assert.deepEqual(await nextMessage(ws), binary);
    } finally {
      await closeWebSocket(ws);
    }
    await assert.rejects(openWebSocket(url), { status: 401 });
  });

  test('downloads and uploads stream through intact', async () => {
    const { jar } = await browse(`${front.origin}/rstudio/`);
    const cookie = cookieHeader(jar);
    const size = 8 * 1024 * 1024 + 3;
    const download = await new Promise<{ bytes: number; ok: boolean }>((resolve, reject) => {
      const req = request(
        `${front.origin}/rstudio/export/data.csv?size=${size}`,
        { headers: { cookie }, agent: false },
        (res) => {
          let bytes = 0;
          let ok = res.statusCode === 200;
          res.on('data', (chunk: Buffer) => {
            for (let i = 0; i < chunk.length; i += 4099) ok &&= chunk[i] === (bytes + i) % 251;
            bytes += chunk.length;
          });
          res.on('end', () => resolve({ bytes, ok }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(download, { bytes: size, ok: true });
    const body = Buffer.alloc(5 * 1024 * 1024, 'x');
    const upload = await fetchText(`${front.origin}/rstudio/upload`, {
      method: 'POST',
      body,
      headers: { cookie },
    });
    assert.equal((JSON.parse(upload.body) as { bytes: number }).bytes, body.length);
  });

  test('a client leaving a long poll: rserver sees it go', async () => {
    const { jar } = await browse(`${front.origin}/rstudio/`);
    const req = request(`${front.origin}/rstudio/events/get_events`, {
      method: 'POST',
      headers: { cookie: cookieHeader(jar) },
      agent: false,
    });
    req.on('error', () => undefined);
    req.end('{}');
    await waitUntil(
      () => double.stderr().includes('/events/get_events'),
      5000,
      'long poll to arrive',
    );
    req.destroy();
    await waitUntil(
      () => double.stderr().includes('client left the long poll /events/get_events'),
      5000,
      'rserver to see the client leave',
    );
  });
});

describe('rserver killed mid-request', () => {
  const dir = makeTempDir('rsp-kill-');

  test('the request gets a 502, and the front keeps serving', async () => {
    let double = await startDouble(dir, {
      RSERVER_DOUBLE_LONG_POLL_MS: '60000',
      RS_LOG_LEVEL: 'DEBUG',
    });
    const front = await startFront({ backend: double.socketPath, prefix: '/rstudio' });
    after(async () => {
      await closeFront(front);
      await double.stop();
    });
    const { jar } = await browse(`${front.origin}/rstudio/`);
    const poll = fetchText(`${front.origin}/rstudio/events/get_events`, {
      method: 'POST',
      body: '{}',
      headers: { cookie: cookieHeader(jar), accept: 'application/json' },
    });
    await waitUntil(
      () => double.stderr().includes('POST /events/get_events'),
      5000,
      'the long poll to reach rserver',
    );
    await double.kill();
    const cut = await poll;
    assert.equal(cut.status, 502);
    assert.match(cut.body, /"code":"EBACKEND"/);
    const down = await fetchText(`${front.origin}/rstudio/`, {
      headers: { accept: 'application/json' },
    });
    assert.equal(down.status, 502);
    assert.match(down.body, /ECONNREFUSED|ENOENT/);

    const previous = double;
    double = await startDouble(dir);
    await previous.stop();
    const back = await browse(`${front.origin}/rstudio/`);
    assert.equal(back.visits.at(-1)?.answer.status, 200);
  });
});
