// A tiny HTTP client for tests: one request over a Unix socket or TCP, no connection reuse,
// the whole answer in memory, and a deadline.
import {
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import type { Readable } from 'node:stream';

export type HttpTarget = { socketPath: string } | { host: string; port: number };

export interface HttpRequest {
  method?: string;
  path?: string;
  headers?: OutgoingHttpHeaders;
  /** Sent whole, or streamed (a Readable). */
  body?: string | Buffer | Readable;
  timeoutMs?: number;
}

export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Sends one request and collects the reply. */
export function httpRequest(target: HttpTarget, options: HttpRequest = {}): Promise<HttpReply> {
  const { method = 'GET', path = '/', headers = {}, body, timeoutMs = 10_000 } = options;
  return new Promise((resolve, reject) => {
    const req = request(
      { ...target, method, path, headers, agent: false, signal: AbortSignal.timeout(timeoutMs) },
      (res) => void readReply(res).then(resolve, reject),
    );
    req.on('error', reject);
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}

/** A response's status, headers and whole body (http or https alike). */
export function readReply(res: IncomingMessage): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('error', reject);
    res.on('end', () =>
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
    );
  });
}

/** The `name=value` part of each Set-Cookie header, by cookie name. */
export function cookieJar(headers: IncomingHttpHeaders): Map<string, string> {
  const jar = new Map<string, string>();
  for (const line of headers['set-cookie'] ?? []) {
    const pair = line.split(';')[0] ?? '';
    const equals = pair.indexOf('=');
    if (equals > 0) jar.set(pair.slice(0, equals), pair.slice(equals + 1));
  }
  return jar;
}

/** A Cookie request header carrying every cookie of a jar. */
export function cookieHeader(jar: ReadonlyMap<string, string>): string {
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
}
