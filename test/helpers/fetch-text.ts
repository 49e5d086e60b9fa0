import { request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

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

// One HTTP request on a fresh connection (no pooling, so tests see every connection they
// cause), failing after `timeout` ms: no test waits forever on a hung proxy.
export function fetchText(url: string, options: FetchOptions = {}): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: options.path ?? `${target.pathname}${target.search}`,
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
        signal: AbortSignal.timeout(options.timeout ?? 10_000),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    const body = options.body;
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}
