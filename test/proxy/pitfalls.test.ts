// http-proxy 1.18.1's known pitfalls, each performed against the adapter: what the engine would
// do on its own, and what the adapter does instead.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { RSessionProxyError } from '../../lib/index.js';
import { fetchText } from '../helpers/fetch-text.js';
import { closeFront, startFront, type Front } from '../helpers/front.js';
import { waitUntil } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp.js';
import { startTinyBackend, type TinyBackend } from '../helpers/tiny-backend.js';
import { openWebSocket } from '../helpers/ws-client.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const HANDSHAKE = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
  `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

/** A backend connection as the test backend saw it. */
interface Peer {
  socket: Socket;
  /** Bytes that arrived after the handshake was answered. */
  later: number;
}

/** An rserver stand-in whose upgrades misbehave on purpose. */
interface UnrulyBackend {
  socketPath: string;
  server: Server;
  /** Upgrades by path, in order. */
  upgrades: Map<string, Peer[]>;
  close(): Promise<void>;
}

// GET /echo answers 200. Upgrades:
//   /refuse   → 302 to the sign-in page with a body, the connection kept open until the proxy
//               closes it (Node stops parsing it: a request sent on it again would never be
//               answered)
//   /reset    → the connection closed before any answer
//   /stubborn → 101, then a frame-sized write every 20 ms; a half-close from the proxy is
//               ignored (allowHalfOpen), so only a destroyed connection ends it
//   /echo     → 101, then every byte echoed
async function startUnrulyBackend(dir: string): Promise<UnrulyBackend> {
  const socketPath = join(dir, 'unruly.sock');
  const upgrades = new Map<string, Peer[]>();
  const server = createServer((req, res) => {
    req.resume();
    res.end('ok');
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => socket.destroy());
    const peer: Peer = { socket, later: 0 };
    const path = req.url ?? '';
    upgrades.set(path, [...(upgrades.get(path) ?? []), peer]);
    socket.on('data', (chunk: Buffer) => (peer.later += chunk.length));
    switch (path) {
      case '/refuse':
        socket.once('end', () => socket.destroy());
        socket.write(
          'HTTP/1.1 302 Found\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n' +
            'Connection: keep-alive\r\nLocation: http://localhost/auth-sign-in\r\n\r\nsign in',
        );
        return;
      case '/reset':
        socket.destroy();
        return;
      default: {
        socket.write(
          'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
        );
        if (path === '/echo') socket.on('data', (chunk: Buffer) => socket.write(chunk));
        if (path === '/stubborn') {
          const timer = setInterval(() => socket.write(Buffer.alloc(64, 1)), 20);
          socket.once('close', () => clearInterval(timer));
        }
      }
    }
  });
  server.listen(socketPath);
  await once(server, 'listening');
  return {
    socketPath,
    server,
    upgrades,
    async close() {
      for (const peers of upgrades.values()) for (const peer of peers) peer.socket.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// A raw WebSocket handshake through the proxy; resolves the client socket and rserver's answer
// head once the head has arrived.
async function rawHandshake(port: number, path: string): Promise<{ socket: Socket; head: string }> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(HANDSHAKE(path));
  let received = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer to the handshake')), 5000);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n\r\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { socket, head: received.slice(0, received.indexOf('\r\n\r\n')) };
}

function whenClosed(socket: Socket, ms: number, what: string): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not closed within ${ms} ms`)), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe("http-proxy's pitfalls, handled", () => {
  const dir = makeTempDir('rsp-pitfalls-');
  let tiny: TinyBackend;
  let unruly: UnrulyBackend;
  let front: Front;
  let unrulyFront: Front;
  const errors: RSessionProxyError[] = [];

  before(async () => {
    tiny = await startTinyBackend(dir);
    unruly = await startUnrulyBackend(dir);
    front = await startFront({ backend: tiny.socketPath, onError: (error) => errors.push(error) });
    unrulyFront = await startFront({ backend: unruly.socketPath });
  });
  after(async () => {
    await closeFront(front);
    await closeFront(unrulyFront);
    await tiny.close();
    await unruly.close();
  });

  test('every call has its own error callback: each failure is answered on its own client', async () => {
    const before = errors.length;
    const [json, a, html] = await Promise.all([
      fetchText(`${front.origin}/reset`, { headers: { accept: 'application/json' } }),
      fetchText(`${front.origin}/echo/a`),
      fetchText(`${front.origin}/reset`, { headers: { accept: 'text/html' } }),
    ]);
    assert.deepEqual([json.status, a.status, html.status], [502, 200, 502]);
    assert.match(json.body, /"code":"EBACKEND"/);
    assert.match(html.body, /<title>502 Bad Gateway<\/title>/);
    assert.equal((JSON.parse(a.body) as { url: string }).url, '/echo/a');
    assert.equal(errors.length - before, 2);
    // A handshake whose connection rserver closes is answered too, raw, and closed.
    const { socket, head } = await rawHandshake(unrulyFront.port, '/reset');
    assert.match(head, /^HTTP\/1\.1 502 /);
    await whenClosed(socket, 5000, 'the refused client');
  });

  test('a client that leaves before rserver answered at all takes the request with it', async () => {
    const aborted = tiny.nextAbort();
    const req = request(`${front.origin}/silent`, { agent: false });
    req.on('error', () => undefined);
    req.end();
    await waitUntil(() => tiny.seen.at(-1)?.url === '/silent', 5000, 'request reaching rserver');
    req.destroy();
    assert.equal(await withTimeout(aborted, 5000, 'rserver never saw the close'), '/silent');
  });

  test('a client that leaves mid-upload takes the request with it', async () => {
    const aborted = tiny.nextAbort();
    const req = request(`${front.origin}/upload`, {
      method: 'POST',
      agent: false,
      headers: { 'content-length': String(64 * 1024 * 1024) },
    });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(256 * 1024, 'u'));
    await waitUntil(() => tiny.seen.at(-1)?.url === '/upload', 5000, 'upload reaching rserver');
    req.destroy();
    assert.equal(await withTimeout(aborted, 5000, 'rserver never saw the close'), '/upload');
  });

  test("a client that errors on a WebSocket takes rserver's socket down too (#1510)", async () => {
    const { socket, head } = await rawHandshake(unrulyFront.port, '/stubborn');
    assert.match(head, /^HTTP\/1\.1 101 /);
    const peer = unruly.upgrades.get('/stubborn')?.at(-1);
    assert.ok(peer);
    // A reset, as from a client that vanished: the proxy's socket errors with ECONNRESET.
    socket.resetAndDestroy();
    await whenClosed(peer.socket, 5000, "rserver's socket");
  });

  test("rserver closing a WebSocket closes the client's socket too", async () => {
    const { socket, head } = await rawHandshake(unrulyFront.port, '/echo');
    assert.match(head, /^HTTP\/1\.1 101 /);
    unruly.upgrades.get('/echo')?.at(-1)?.socket.destroy();
    await whenClosed(socket, 5000, "the client's socket");
  });

  test("a refused upgrade is relayed, and rserver's connection is closed, not reused", async () => {
    await assert.rejects(openWebSocket(`ws://127.0.0.1:${unrulyFront.port}/refuse`), {
      status: 302,
    });
    const { socket, head } = await rawHandshake(unrulyFront.port, '/refuse');
    assert.match(head, /^HTTP\/1\.1 302 /);
    assert.match(head, /\r\nConnection: close/i);
    assert.doesNotMatch(head, /content-length|transfer-encoding|keep-alive/i);
    assert.match(head, /\r\nLocation: http:\/\/x\/auth-sign-in/i);
    await whenClosed(socket, 5000, 'the refused client');
    // The next request must not be sent on the refused connection, which rserver no longer
    // reads: it would hang. It goes on a new one, and the refused ones are closed.
    assert.equal((await fetchText(`${unrulyFront.origin}/echo`, { timeout: 3000 })).body, 'ok');
    for (const peer of unruly.upgrades.get('/refuse') ?? []) {
      await whenClosed(peer.socket, 5000, "rserver's refused connection");
      assert.equal(peer.later, 0, 'nothing was sent on a refused connection');
    }
  });

  test('a chunked DELETE reaches rserver as one request with its body', async () => {
    const seen = tiny.seen.length;
    const answer = await fetchText(`${front.origin}/upload`, {
      method: 'DELETE',
      headers: { 'transfer-encoding': 'chunked' },
      body: Readable.from([Buffer.from('GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n')]),
    });
    assert.equal(answer.status, 200);
    assert.equal((JSON.parse(answer.body) as { bytes: number }).bytes, 35);
    assert.equal(tiny.seen.length, seen + 1, JSON.stringify(tiny.seen.slice(seen)));
    const bare = await fetchText(`${front.origin}/echo`, { method: 'DELETE' });
    const { headers } = JSON.parse(bare.body) as { headers: Record<string, string> };
    assert.equal(headers['content-length'], '0');
  });

  test('Expect: 100-continue is answered in front; rserver gets the exact path and the body', async () => {
    const answer = await new Promise<{ url: string; headers: Record<string, string> }>(
      (resolve, reject) => {
        const req = request(`${front.origin}/a//echo?x=//y`, {
          method: 'POST',
          agent: false,
          headers: { expect: '100-continue', 'content-length': '5' },
          signal: AbortSignal.timeout(5000),
        });
        req.on('continue', () => req.end('hello'));
        req.on('response', (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () =>
            resolve(JSON.parse(body) as { url: string; headers: Record<string, string> }),
          );
        });
        req.on('error', reject);
      },
    );
    assert.equal(answer.url, '/a//echo?x=//y');
    assert.equal(answer.headers.expect, undefined);
    assert.equal(answer.headers['content-length'], '5');
  });
});

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
