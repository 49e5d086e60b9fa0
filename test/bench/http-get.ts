import { request } from 'node:http';

export interface GetResult {
  status: number;
  body: string;
  /** From the request being sent to the status line arriving, in ms. */
  firstByteMs: number;
}

// One GET on a fresh connection, failing after `timeout` ms.
export function httpGet(
  url: string,
  headers: Record<string, string> = {},
  timeout = 30_000,
): Promise<GetResult> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const req = request(url, { headers, agent: false }, (res) => {
      const firstByteMs = Number(process.hrtime.bigint() - start) / 1e6;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body, firstByteMs }));
      res.once('error', reject);
    });
    req.setTimeout(timeout, () => req.destroy(new Error(`no answer from ${url} in ${timeout} ms`)));
    req.once('error', reject);
    req.end();
  });
}
