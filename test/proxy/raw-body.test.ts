// A download's body goes from rserver's connection to the client's past node:http's parser and
// streams (lib/proxy/raw-body.ts). What that must not change: every byte arrives, in order; the
// client's connection stays usable; a HEAD, a pipelined request and a wrapped res.write still
// work; rserver breaking off and a client leaving each end the other side; and the connection
// that carried it is closed rather than pooled (its parser never saw the body end).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createProxyAdapter, type RSessionProxyError } from '../../lib/index.js';
import { RAW_BODY_MIN_BYTES } from '../../lib/proxy/raw-body.js';
import { closeFront, startFront, type Front } from '../helpers/front.js';
import { waitUntil } from '../helpers/processes.js';
import { downloadHash, expectedDownloadHash } from '../helpers/slurm-cli.js';
import { makeTempDir } from '../helpers/temp.js';

const SIZE = 5 * RAW_BODY_MIN_BYTES + 7;

// Byte i of every body is i % 251: a shifted, lost or repeated chunk changes the digest.
function pattern(start: number, length: number): Buffer {
  const chunk = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) chunk[i] = (start + i) % 251;
  return chunk;
}

const EXPECTED = expectedDownloadHash(SIZE);

/** An rserver stand-in for downloads; it counts its connections and when each closed. */
interface DownloadBackend {
  socketPath: string;
  connections: Socket[];
  close(): Promise<void>;
}

// GET /bytes?size=N → N pattern bytes with a Content-Length, 64 KiB per write, each after the
// last drained. GET /cut?size=N → the same headers, half the body, then the connection closed.
// GET /tiny → 200 "tiny".
async function startDownloadBackend(dir: string): Promise<DownloadBackend> {
  const socketPath = join(dir, 'downloads.sock');
  const connections: Socket[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    const url = new URL(req.url ?? '/', 'http://backend');
    const size = Number(url.searchParams.get('size') ?? 0);
    if (url.pathname === '/tiny') {
      res.end('tiny');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    writePattern(res, url.pathname === '/cut' ? Math.floor(size / 2) : size, () => {
      if (url.pathname === '/cut') res.socket?.destroy();
      else res.end();
    });
  });
  server.on('connection', (socket: Socket) => connections.push(socket));
  server.listen(socketPath);
  await once(server, 'listening');
  return {
    socketPath,
    connections,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function writePattern(res: ServerResponse, size: number, done: () => void): void {
  let sent = 0;
  const next = () => {
    while (sent < size) {
      const length = Math.min(64 * 1024, size - sent);
      const ok = res.write(pattern(sent, length));
      sent += length;
      if (!ok) {
        res.once('drain', next);
        return;
      }
    }
    done();
  };
  next();
}

function whenClosed(socket: Socket, what: string): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not closed within 10 s`)), 10_000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// Reads raw bytes from a socket until `predicate` holds for what has arrived.
function readUntil(socket: Socket, predicate: (received: Buffer) => boolean): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no complete answer within 30 s')), 30_000);
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      const received = Buffer.concat(chunks);
      if (!predicate(received)) return;
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(received);
    };
    socket.on('data', onData);
  });
}

describe('a download relayed raw', () => {
  const dir = makeTempDir('rsp-raw-body-');
  let backend: DownloadBackend;
  let front: Front;
  const errors: RSessionProxyError[] = [];

  before(async () => {
    backend = await startDownloadBackend(dir);
    front = await startFront({ backend: backend.socketPath, onError: (e) => errors.push(e) });
  });
  after(async () => {
    await closeFront(front);
    await backend.close();
  });

  test('every byte arrives in order; the connection that carried it is closed, not pooled', async () => {
    const before = backend.connections.length;
    const answer = await downloadHash(`${front.origin}/bytes?size=${SIZE}`, {});
    assert.equal(answer.status, 200);
    assert.equal(answer.bytes, SIZE);
    assert.equal(answer.sha256, EXPECTED);
    // Not pooled: the next request, sent at once, opens a connection of its own.
    const tiny = await downloadHash(`${front.origin}/tiny`, {});
    assert.equal(tiny.status, 200);
    const carried = backend.connections.slice(before);
    assert.equal(carried.length, 2, 'a connection for the download, another for the next');
    await whenClosed(carried[0] as Socket, "rserver's connection after the download");
  });

  test("the client's connection serves the next request, and a pipelined one, afterwards", async () => {
    const socket = connect(front.port, '127.0.0.1');
    after(() => socket.destroy());
    socket.write(
      `GET /bytes?size=${SIZE} HTTP/1.1\r\nHost: x\r\n\r\nGET /tiny HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    const received = await readUntil(socket, (bytes) => bytes.includes('\r\n\r\ntiny'));
    const firstHead = received.indexOf('\r\n\r\n') + 4;
    const body = received.subarray(firstHead, firstHead + SIZE);
    assert.equal(createHash('sha256').update(body).digest('hex'), EXPECTED);
    const rest = received.subarray(firstHead + SIZE).toString('latin1');
    assert.match(rest, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\ntiny$/);

    socket.write('GET /tiny HTTP/1.1\r\nHost: x\r\n\r\n');
    const again = await readUntil(socket, (bytes) => bytes.includes('\r\n\r\ntiny'));
    assert.match(again.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/);
  });

  test('a HEAD gets the length without a body, and its connection goes on', async () => {
    const socket = connect(front.port, '127.0.0.1');
    after(() => socket.destroy());
    socket.write(`HEAD /bytes?size=${SIZE} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const head = await readUntil(socket, (bytes) => bytes.includes('\r\n\r\n'));
    assert.match(head.toString('latin1'), new RegExp(`content-length: ${SIZE}\\r\\n`, 'i'));
    socket.write('GET /tiny HTTP/1.1\r\nHost: x\r\n\r\n');
    const next = await readUntil(socket, (bytes) => bytes.includes('\r\n\r\ntiny'));
    assert.match(next.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/);
  });

  test('rserver breaking off mid-body ends the client connection and is reported', async () => {
    const socket = connect(front.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(`GET /cut?size=${SIZE} HTTP/1.1\r\nHost: x\r\n\r\n`);
    let received = 0;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    await whenClosed(socket, "the client's connection after rserver broke off");
    assert.ok(received < SIZE, `the client got ${received} of ${SIZE} bytes, not all`);
    await waitUntil(() => errors.some((e) => e.code === 'EBACKEND'), 5000, 'EBACKEND reported');
  });

  test("a client leaving mid-body closes rserver's connection", async () => {
    const before = backend.connections.length;
    const socket = connect(front.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(`GET /bytes?size=${64 * SIZE} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await readUntil(socket, (bytes) => bytes.length > 2 * RAW_BODY_MIN_BYTES);
    socket.destroy();
    const carried = backend.connections.slice(before);
    assert.equal(carried.length, 1);
    await whenClosed(carried[0] as Socket, "rserver's connection after the client left");
  });
});

describe('a download through a wrapped res.write (compression middleware and the like)', () => {
  test('goes through the wrapper: it sees every byte', async () => {
    const dir = makeTempDir('rsp-raw-body-wrapped-');
    const backend = await startDownloadBackend(dir);
    const adapter = createProxyAdapter({ backend: backend.socketPath });
    let seen = 0;
    const server = createServer((req, res) => {
      const write = res.write.bind(res) as (chunk: Buffer) => boolean;
      res.write = ((chunk: Buffer) => {
        seen += chunk.length;
        return write(chunk);
      }) as typeof res.write;
      adapter.web(req, res);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    after(async () => {
      await adapter.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await backend.close();
    });
    const { port } = server.address() as { port: number };
    const answer = await downloadHash(`http://127.0.0.1:${port}/bytes?size=${SIZE}`, {});
    assert.equal(answer.sha256, EXPECTED);
    assert.equal(seen, SIZE);
  });
});
