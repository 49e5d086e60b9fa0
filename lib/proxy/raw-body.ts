import { OutgoingMessage, type IncomingMessage, type ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { canTakeReads, takeReads } from './socket-reads.js';

/** Bodies of at least this many bytes (downloads) are relayed raw; smaller ones are piped. */
export const RAW_BODY_MIN_BYTES = 1024 * 1024;

// The length of a body that can go from rserver's connection to the client's as raw bytes: a
// Content-Length body of a download's size, to a plain node:http response whose socket is its
// own (not waiting behind a pipelined one), and whose write nobody has wrapped (compression
// middleware), from a socket to rserver. Anything else is piped through node:http's streams.
export function getRawBodyLength(
  req: IncomingMessage,
  res: ServerResponse,
  proxyRes: IncomingMessage,
  headers: readonly string[],
): number | undefined {
  const status = proxyRes.statusCode ?? 0;
  if (req.method === 'HEAD' || status < 200 || status === 204 || status === 304) return undefined;
  if (proxyRes.headers['transfer-encoding'] !== undefined) return undefined;
  const length = Number(proxyRes.headers['content-length']);
  if (!Number.isSafeInteger(length) || length < RAW_BODY_MIN_BYTES) return undefined;
  if (!hasHeader(headers, 'content-length', String(length))) return undefined;
  const client = res.socket;
  // node:http's own mark of the response a socket is writing now.
  const current = (client as { _httpMessage?: unknown } | null)?._httpMessage;
  if (!(client instanceof Socket) || current !== res) return undefined;
  if (res.write !== OutgoingMessage.prototype.write) return undefined;
  // A connection from a factory (a Slurm job step) is dear to open again: it keeps the pipe.
  if (!canTakeReads(proxyRes.socket)) return undefined;
  return length;
}

// Sends a body from rserver's connection to the client's socket as it comes, past node:http's
// parser and its streams, which cost as much CPU again as the bytes' own way through the
// kernel: 2.2-2.5 s of CPU per GiB instead of 1.1-1.2 (a 1 GiB download, /proc/PID/stat).
// Once the status and headers are out, the connection's reads are taken from node:http's parser
// (after the chunk that held them: what it had already parsed of the body is sent first) and
// go straight to the client, paused while the client's socket is full. node:http's parser never
// sees the end of that body, so the connection is not pooled again: it is closed once the
// client's response has ended. A connection that ends early closes the answer (relay.ts).
export function relayRawBody(res: ServerResponse, proxyRes: IncomingMessage, length: number): void {
  res.flushHeaders();
  process.nextTick(() => {
    const upstream = proxyRes.socket;
    const client = res.socket;
    if (!canTakeReads(upstream) || client === null || proxyRes.complete) {
      proxyRes.pipe(res);
      return;
    }
    let remaining = length;
    const onChunk = (chunk: Buffer, release: () => void) => {
      if (remaining === 0) {
        release();
        return;
      }
      const body = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
      remaining -= body.length;
      if (!client.write(body, release) && remaining > 0) {
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
      if (remaining > 0) return;
      res.once('close', () => upstream.destroy());
      res.end();
    };
    takeReads(upstream, onChunk);
    for (let parsed = proxyRes.read() as Buffer | null; parsed !== null;) {
      onChunk(parsed, () => undefined);
      parsed = proxyRes.read() as Buffer | null;
    }
    upstream.resume();
  });
}

function hasHeader(headers: readonly string[], name: string, value: string): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]?.toLowerCase() === name && headers[i + 1] === value) return true;
  }
  return false;
}
