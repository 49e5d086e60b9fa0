import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createProxyAdapter, type ProxyAdapter, type RSessionProxyError } from '../../lib/index.js';
import { closeFront, startFront, type Front } from '../helpers/front.js';
import { fetchText } from '../helpers/fetch-text.js';
import { waitUntil } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp.js';
import { startTinyBackend, type TinyBackend } from '../helpers/tiny-backend.js';
import { closeWebSocket, nextMessage, openWebSocket } from '../helpers/ws-client.js';

const HTML = 'text/html,application/xhtml+xml,*/*;q=0.8';

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
}

describe('the adapter on a node:http server, prefix /rstudio', () => {
  let backend: TinyBackend;
  let front: Front;
  const errors: RSessionProxyError[] = [];
  const dir = makeTempDir('rsp-adapter-');

  before(async () => {
    backend = await startTinyBackend(dir);
    front = await startFront({
      backend: backend.socketPath,
      prefix: '/rstudio',
      authorize: (req) => req.headers['x-test-deny'] === undefined,
      onError: (error) => errors.push(error),
    });
  });
  after(async () => {
    await closeFront(front);
    await backend.close();
  });

  test('strips the prefix and tells rserver where it is mounted and who asks', async () => {
    const answer = await fetchText(`${front.origin}/rstudio/echo/a?b=1`, {
      headers: { host: 'hub.example.org' },
    });
    assert.equal(answer.status, 200);
    const echo = JSON.parse(answer.body) as Echo;
    assert.equal(echo.url, '/echo/a?b=1');
    assert.equal(echo.headers['x-rstudio-root-path'], '/rstudio');
    assert.equal(echo.headers['x-forwarded-host'], 'hub.example.org');
    assert.equal(echo.headers['x-forwarded-proto'], 'http');
    assert.equal(echo.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(echo.headers.host, 'hub.example.org');
  });

  test('the path reaches rserver exactly as sent, repeated slashes and all', async () => {
    for (const [sent, seen] of [
      ['/rstudio/a//b?x=//y', '/a//b?x=//y'],
      ['/rstudio//files/~/a%20b', '//files/~/a%20b'],
      ['/rstudio/files/http:/x', '/files/http:/x'],
      ['/rstudio/%C3%A9t%C3%A9?q=%2F', '/%C3%A9t%C3%A9?q=%2F'],
    ]) {
      const answer = await fetchText(`${front.origin}${sent}`);
      assert.equal((JSON.parse(answer.body) as Echo).url, seen, sent);
    }
    const post = await fetchText(`${front.origin}/rstudio/a//post`, { method: 'POST', body: 'x' });
    assert.equal((JSON.parse(post.body) as Echo).url, '/a//post');
    const ws = await openWebSocket(`ws://127.0.0.1:${front.port}/rstudio/p/1//x`);
    assert.equal(backend.seen.at(-1)?.url, '/p/1//x');
    await closeWebSocket(ws);
  });

  test('the bare prefix redirects to prefix/ without reaching rserver', async () => {
    const before = backend.seen.length;
    const get = await fetchText(`${front.origin}/rstudio?x=1`);
    assert.equal(get.status, 302);
    assert.equal(get.headers.location, '/rstudio/?x=1');
    const post = await fetchText(`${front.origin}/rstudio`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 307);
    assert.equal(backend.seen.length, before);
  });

  test('outside the prefix: 404, nothing forwarded', async () => {
    const before = backend.seen.length;
    const answer = await fetchText(`${front.origin}/other/echo`);
    assert.equal(answer.status, 404);
    assert.equal(backend.seen.length, before);
  });

  test('an absolute-form request line goes to the socket, never to the host it names', async () => {
    const answer = await fetchText(front.origin, {
      path: 'http://evil.example:9/rstudio/echo?q',
      headers: { host: 'evil.example:9' },
    });
    assert.equal(answer.status, 200);
    assert.equal((JSON.parse(answer.body) as Echo).url, '/echo?q');
    assert.equal((await fetchText(front.origin, { path: '*', method: 'OPTIONS' })).status, 400);
  });

  test("the client's own forwarding headers cannot steer rserver's redirects", async () => {
    const answer = await fetchText(`${front.origin}/rstudio/echo`, {
      headers: {
        'x-rstudio-request': 'http://evil.example/',
        'x-rstudio-root-path': '/evil',
        forwarded: 'host=evil.example;proto=https',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        'x-forwarded-port': '8888',
      },
    });
    const { headers } = JSON.parse(answer.body) as Echo;
    assert.equal(headers['x-rstudio-request'], undefined);
    assert.equal(headers.forwarded, undefined);
    assert.equal(headers['x-forwarded-port'], undefined);
    assert.equal(headers['x-forwarded-host'], `127.0.0.1:${front.port}`);
    assert.equal(headers['x-forwarded-proto'], 'http');
    assert.equal(headers['x-rstudio-root-path'], '/rstudio');
  });

  test('redirects are rewritten to the client origin and prefix', async () => {
    const cases: [string, string][] = [
      ['http://localhost:8787/rstudio/auth-sign-in', `${front.origin}/rstudio/auth-sign-in`],
      [`http://127.0.0.1:${front.port}, 127.0.0.1/rstudio/x`, `${front.origin}/rstudio/x`],
      ['http://localhost/x', `${front.origin}/rstudio/x`],
      ['../base/help', '/rstudio/base/help'],
      ['https://cran.r-project.org/', 'https://cran.r-project.org/'],
    ];
    for (const [to, expected] of cases) {
      for (const status of [301, 302, 303, 307, 308]) {
        const answer = await fetchText(
          `${front.origin}/rstudio/redirect?status=${status}&to=${encodeURIComponent(to)}`,
        );
        assert.equal(answer.status, status);
        assert.equal(answer.headers.location, expected, `${status} ${to}`);
      }
    }
  });

  test('several Set-Cookie headers and X-RS-CSRF-Token come back unchanged', async () => {
    const answer = await fetchText(`${front.origin}/rstudio/cookies`);
    assert.deepEqual(answer.headers['set-cookie'], [
      'user-id=alice; path=/rstudio',
      'rs-csrf-token=t0k; path=/rstudio',
      'persist-auth=1',
    ]);
    assert.equal(answer.headers['x-rs-csrf-token'], 't0k');
  });

  test('a request body reaches rserver intact', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024 + 7, 'u');
    const answer = await fetchText(`${front.origin}/rstudio/upload`, { method: 'POST', body });
    assert.equal((JSON.parse(answer.body) as { bytes: number }).bytes, body.length);
  });

  test('authorize refuses a request: 403, and rserver never sees it', async () => {
    const before = backend.seen.length;
    const answer = await fetchText(`${front.origin}/rstudio/echo`, {
      headers: { 'x-test-deny': '1', accept: 'application/json' },
    });
    assert.equal(answer.status, 403);
    assert.equal((JSON.parse(answer.body) as { error: { status: number } }).error.status, 403);
    assert.equal(backend.seen.length, before);
  });

  test('WebSocket echo: text and binary frames, subprotocol chosen by rserver', async () => {
    const ws = await openWebSocket(`ws://127.0.0.1:${front.port}/rstudio/p/abc123/terminal/1/`, [
      'a',
      'b',
    ]);
    try {
      assert.equal(ws.protocol, 'b');
      const seen = backend.seen.at(-1);
      assert.equal(seen?.url, '/p/abc123/terminal/1/');
      assert.equal(seen.headers['x-rstudio-root-path'], '/rstudio');
      ws.send('hello');
      assert.equal(await nextMessage(ws), 'hello');
      const binary = Buffer.from([0, 1, 2, 255, 254]);
      ws.send(binary);
      assert.deepEqual(await nextMessage(ws), binary);
      const big = Buffer.alloc(5 * 1024 * 1024, 7);
      ws.send(big);
      assert.deepEqual(await nextMessage(ws), big);
    } finally {
      await closeWebSocket(ws);
    }
  });

  test('authorize refuses an upgrade: 403, and rserver never sees it', async () => {
    const before = backend.seen.length;
    await assert.rejects(
      openWebSocket(`ws://127.0.0.1:${front.port}/rstudio/p/abc/`, [], { 'x-test-deny': '1' }),
      { status: 403 },
    );
    assert.equal(backend.seen.length, before);
  });

  test('upgrades other than WebSocket, and outside the prefix, are refused', async () => {
    const before = backend.seen.length;
    for (const [path, upgrade, status] of [
      ['/rstudio/x', 'h2c', 400],
      ['/elsewhere/x', 'websocket', 404],
    ] as const) {
      const req = request({
        host: '127.0.0.1',
        port: front.port,
        path,
        headers: {
          connection: 'Upgrade',
          upgrade,
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          'sec-websocket-version': '13',
        },
        agent: false,
      });
      req.end();
      const [res] = (await once(req, 'response', { signal: AbortSignal.timeout(5000) })) as [
        { statusCode: number; resume(): void },
      ];
      res.resume();
      assert.equal(res.statusCode, status);
    }
    assert.equal(backend.seen.length, before);
  });

  test('lastActivity moves with requests and WebSocket frames', async () => {
    const start = front.adapter.lastActivity;
    await fetchText(`${front.origin}/rstudio/echo`);
    const afterRequest = front.adapter.lastActivity;
    assert.ok(afterRequest >= start);
    const ws = await openWebSocket(`ws://127.0.0.1:${front.port}/rstudio/p/1/`);
    try {
      const sent = Date.now();
      ws.send('tick');
      await nextMessage(ws);
      assert.ok(front.adapter.lastActivity >= sent);
    } finally {
      await closeWebSocket(ws);
    }
  });

  test('rserver dies mid-body: the client sees the connection end, not a hang', async () => {
    await assert.rejects(fetchText(`${front.origin}/rstudio/die-mid-body`), (error: Error) => {
      assert.doesNotMatch(error.name, /Timeout|Abort/);
      return true;
    });
    assert.ok(errors.some((error) => error.code === 'EBACKEND'));
    assert.equal((await fetchText(`${front.origin}/rstudio/echo`)).status, 200);
  });

  test('a client that leaves mid-download takes the backend request with it', async () => {
    const aborted = backend.nextAbort();
    const req = request(`${front.origin}/rstudio/stream?size=${1024 * 1024 * 1024}`, {
      agent: false,
    });
    req.end();
    const [res] = (await once(req, 'response', { signal: AbortSignal.timeout(5000) })) as [
      NodeJS.ReadableStream,
    ];
    await once(res, 'data');
    req.destroy();
    assert.match(await withTimeout(aborted, 5000, 'backend never saw the close'), /^\/stream/);
  });

  test('a client that leaves a long poll takes the backend request with it', async () => {
    const aborted = backend.nextAbort();
    const req = request(`${front.origin}/rstudio/hang`, { agent: false });
    req.on('error', () => undefined);
    req.end();
    // The answer's headers wait in the proxy for the first byte of body, as a long poll's do.
    await waitUntil(() => backend.seen.at(-1)?.url === '/hang', 5000, 'request reaching rserver');
    req.destroy();
    assert.equal(await withTimeout(aborted, 5000, 'backend never saw the close'), '/hang');
  });
});

describe('when rserver cannot be reached', () => {
  test('502 in the format asked for; the front keeps serving', async () => {
    const errors: RSessionProxyError[] = [];
    const dir = makeTempDir('rsp-dead-');
    const front = await startFront({
      backend: join(dir, 'rserver.sock'),
      prefix: '/rstudio',
      onError: (error) => errors.push(error),
    });
    after(() => closeFront(front));
    const json = await fetchText(`${front.origin}/rstudio/`, {
      headers: { accept: 'application/json' },
    });
    assert.equal(json.status, 502);
    const parsed = JSON.parse(json.body) as { error: { code: string; message: string } };
    assert.equal(parsed.error.code, 'EBACKEND');
    assert.match(parsed.error.message, /RStudio is not reachable: connect ENOENT/);
    const html = await fetchText(`${front.origin}/rstudio/`, { headers: { accept: HTML } });
    assert.equal(html.status, 502);
    assert.match(html.body, /<title>502 Bad Gateway<\/title>/);
    const head = await fetchText(`${front.origin}/rstudio/`, { method: 'HEAD' });
    assert.equal(head.status, 502);
    assert.equal(head.body, '');
    await assert.rejects(openWebSocket(`ws://127.0.0.1:${front.port}/rstudio/p/1/`), {
      status: 502,
    });
    assert.equal(errors.filter((error) => error.code === 'EBACKEND').length, 4);

    // rserver comes up on the socket: the same adapter now reaches it.
    const backend = await startTinyBackend(dir);
    after(() => backend.close());
    assert.equal((await fetchText(`${front.origin}/rstudio/echo`)).status, 200);
  });

  const silentDir = makeTempDir('rsp-silent-');
  test('a silent rserver gets a 504 after proxyTimeout', async () => {
    const backend = await startTinyBackend(silentDir);
    after(() => backend.close());
    const front = await startFront({ backend: backend.socketPath, proxyTimeout: 200 });
    after(() => closeFront(front));
    const answer = await fetchText(`${front.origin}/silent`, {
      headers: { accept: 'application/json' },
    });
    assert.equal(answer.status, 504);
    assert.match(answer.body, /RStudio did not answer within 0.2 s/);
    // Once the answer has begun, the only way to say it failed is to cut the connection.
    await assert.rejects(fetchText(`${front.origin}/hang`));
    assert.equal((await fetchText(`${front.origin}/echo`)).status, 200);
  });
});

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('other ways to embed it', () => {
  const dir = makeTempDir('rsp-embed-');
  let backend: TinyBackend;
  before(async () => {
    backend = await startTinyBackend(dir);
  });
  after(() => backend.close());

  // Mounts `handler` at `mount` the way Express's app.use(mount, handler) does: req.url loses
  // the mount path, req.originalUrl and req.baseUrl keep it; unmatched requests fall through.
  async function serveMounted(mount: string, handler: ProxyAdapter['middleware']) {
    const server = createServer((req, res) => {
      const url = req.url ?? '/';
      const fallThrough = () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('next() was called');
      };
      if (url !== mount && !url.startsWith(`${mount}/`) && !url.startsWith(`${mount}?`)) {
        fallThrough();
        return;
      }
      Object.assign(req, { originalUrl: url, baseUrl: mount, url: url.slice(mount.length) || '/' });
      handler(req, res, fallThrough);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    after(() => {
      server.closeAllConnections();
      server.close();
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  test('middleware under an Express-style mount: the mount path is the prefix', async () => {
    const adapter = createProxyAdapter({ backend: backend.socketPath });
    after(() => adapter.close());
    const origin = await serveMounted('/user/alice/rstudio', adapter.middleware);
    const echo = JSON.parse((await fetchText(`${origin}/user/alice/rstudio/echo?x`)).body) as Echo;
    assert.equal(echo.url, '/echo?x');
    assert.equal(echo.headers['x-rstudio-root-path'], '/user/alice/rstudio');
    const bare = await fetchText(`${origin}/user/alice/rstudio`);
    assert.equal(bare.headers.location, '/user/alice/rstudio/');
    const redirect = await fetchText(
      `${origin}/user/alice/rstudio/redirect?to=${encodeURIComponent('http://localhost/x')}`,
    );
    assert.equal(redirect.headers.location, `${origin}/user/alice/rstudio/x`);
  });

  test('middleware with its own prefix passes other requests to next()', async () => {
    const adapter = createProxyAdapter({ backend: backend.socketPath, prefix: '/rstudio' });
    after(() => adapter.close());
    const origin = await serveMounted('/other', adapter.middleware);
    assert.equal((await fetchText(`${origin}/other/echo`)).body, 'next() was called');
  });

  test('attach with a prefix of its own, then detach', async () => {
    const errors: string[] = [];
    const adapter = createProxyAdapter({
      backend: join(dir, 'missing.sock'),
      prefix: '/a',
      onError: (error) => {
        errors.push(error.code);
        throw new Error('a broken logger');
      },
    });
    after(() => adapter.close());
    const server = createServer();
    const detach = adapter.attach(server, { prefix: '/b/' });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    after(() => server.close());
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    assert.equal((await fetchText(`${origin}/a/x`)).status, 404);
    assert.equal(
      (await fetchText(`${origin}/b/x`)).status,
      502,
      'a throwing onError changes nothing',
    );
    assert.deepEqual(errors, ['EBACKEND']);
    detach();
    assert.equal(server.listenerCount('request'), 0);
    assert.equal(server.listenerCount('upgrade'), 0);
  });
});
