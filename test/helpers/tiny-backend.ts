import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { streamBytes } from '../fixtures/stream-bytes.js';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface TinyBackend {
  socketPath: string;
  server: Server;
  /** Every request and upgrade that reached the backend, in order. */
  seen: SeenRequest[];
  /** Resolves when the next response of a /hang or /stream request closes before finishing. */
  nextAbort(): Promise<string>;
  /** Open WebSocket connections on the backend side. */
  sockets: Set<WebSocket>;
  close(): Promise<void>;
}

// A minimal rserver stand-in on `<dir>/rserver.sock`, for what the double is not needed for: exact
// headers, large streams, aborts, and loops of thousands of requests.
//   GET  /echo...          → 200, JSON {method, url, headers}
//   GET  /redirect?to=URL  → 302 Location: URL
//   GET  /cookies          → 200 with three Set-Cookie headers and X-RS-CSRF-Token
//   GET  /stream?size=N    → N bytes, streamed in 64 KiB chunks as the client reads
//        &chunked=1        → the same without Content-Length (Transfer-Encoding: chunked)
//   POST /upload           → JSON {bytes, sha256} of the body
//   GET  /hang             → headers, then nothing more (a long poll)
//   GET  /silent           → never answers at all
//   GET  /reset            → the connection is destroyed before any answer
//   GET  /die-mid-body     → headers and a first chunk, then the connection is destroyed
//   WS   any path          → echoes every message; subprotocol 'b' chosen when offered
export async function startTinyBackend(dir: string): Promise<TinyBackend> {
  const socketPath = join(dir, 'rserver.sock');
  const seen: SeenRequest[] = [];
  const aborts: ((url: string) => void)[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    res.once('close', () => {
      if (!res.writableFinished) aborts.shift()?.(req.url ?? '');
    });
    route(req, res);
  });
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has('b') ? 'b' : false),
  });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  server.listen(socketPath);
  await once(server, 'listening');
  return {
    socketPath,
    server,
    seen,
    sockets,
    nextAbort: () => new Promise((resolve) => aborts.push(resolve)),
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function route(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://backend.invalid');
  switch (url.pathname) {
    case '/redirect':
      res.writeHead(Number(url.searchParams.get('status') ?? 302), {
        location: url.searchParams.get('to') ?? '/',
      });
      res.end();
      return;
    case '/cookies':
      res.writeHead(200, {
        'set-cookie': [
          'user-id=alice; path=/rstudio',
          'rs-csrf-token=t0k; path=/rstudio',
          'persist-auth=1',
        ],
        'x-rs-csrf-token': 't0k',
        connection: 'close',
        'content-type': 'text/plain',
      });
      res.end('ok');
      return;
    case '/stream':
      stream(res, Number(url.searchParams.get('size') ?? 0), url.searchParams.has('chunked'));
      return;
    case '/upload':
      upload(req, res);
      return;
    case '/hang':
      res.flushHeaders();
      return;
    case '/silent':
      return;
    case '/reset':
      req.socket.destroy();
      return;
    case '/die-mid-body':
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': '1000000',
      });
      res.write(Buffer.alloc(1000), () => res.destroy());
      return;
    default:
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
  }
}

// Writes `size` bytes as fast as the reader takes them, never more than one chunk ahead.
function stream(res: ServerResponse, size: number, chunked: boolean): void {
  const chunk = Buffer.alloc(64 * 1024, 'r');
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    ...(chunked ? {} : { 'content-length': String(size) }),
  });
  streamBytes(res, size, chunk);
}

function upload(req: IncomingMessage, res: ServerResponse): void {
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    hash.update(chunk);
  });
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') }));
  });
}
