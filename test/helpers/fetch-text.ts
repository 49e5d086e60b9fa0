import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { httpRequest } from './http-client.js';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface FetchOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer | Readable;
  /** A request line target other than the URL's path (absolute-form, '*'). */
  path?: string;
  timeout?: number;
}

// One HTTP request to a URL on a fresh connection (no pooling, so tests see every connection
// they cause), failing after `timeout` ms: no test waits forever on a hung proxy. The body comes
// back as text.
export async function fetchText(url: string, options: FetchOptions = {}): Promise<Answer> {
  const target = new URL(url);
  const reply = await httpRequest(
    { host: target.hostname, port: Number(target.port || 80) },
    {
      method: options.method,
      path: options.path ?? `${target.pathname}${target.search}`,
      headers: options.headers,
      body: options.body,
      timeoutMs: options.timeout,
    },
  );
  return { ...reply, body: reply.body.toString('utf8') };
}
