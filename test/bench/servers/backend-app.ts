import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { streamBytes } from '../../fixtures/stream-bytes.js';

/** The body of `GET /`: a small answer, like most of RStudio's RPC replies. */
export const TINY_BODY = '{"result":"ok","padding":"0123456789abcdef0123456789abcdef"}\n';

const CHUNK = Buffer.alloc(64 * 1024, 'r');

// What every contender proxies to: rserver as if it cost nothing, so that what is measured is
// the proxy in front of it.
//   GET /                 → 200 with TINY_BODY
//   GET /download?size=N  → N bytes in 64 KiB chunks, each written only once the last drained
//   WebSocket, any path   → echoes every message
// Each call returns a server of its own with the same behaviour (a Unix socket and a TCP port
// can then serve alike from one process).
export function createBenchBackend(): Server {
  const server = createServer(handleRequest);
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      ws.on('error', () => ws.terminate());
    });
  });
  return server;
}

function handleRequest(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  if (url.startsWith('/download?size=')) {
    download(res, Number(url.slice('/download?size='.length)));
    return;
  }
  req.resume();
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(TINY_BODY),
  });
  res.end(TINY_BODY);
}

// Generated, never held in memory: one chunk is reused, and the next write waits for 'drain'.
function download(res: ServerResponse, size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    res.writeHead(400).end();
    return;
  }
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': String(size),
  });
  streamBytes(res, size, CHUNK);
}
