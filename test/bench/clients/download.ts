// Downloads one URL and throws the body away, in a process of its own so that the proxy is
// measured, not the runner: `node download.js <url>` (headers in BENCH_HEADERS). Prints one JSON
// line: {bytes, seconds, firstByteMs}.
import { request } from 'node:http';
import { readHeaders } from './headers.js';

const [url] = process.argv.slice(2);
if (url === undefined) throw new Error('usage: download.js <url>');

const start = process.hrtime.bigint();
const elapsed = () => Number(process.hrtime.bigint() - start) / 1e9;
const req = request(url, { headers: readHeaders(), agent: false }, (res) => {
  const firstByteMs = elapsed() * 1000;
  const expected = Number(res.headers['content-length']);
  let bytes = 0;
  res.on('data', (chunk: Buffer) => (bytes += chunk.length));
  res.once('end', () => {
    const seconds = elapsed();
    if (res.statusCode !== 200 || bytes !== expected) {
      process.stderr.write(`status ${res.statusCode}, ${bytes} of ${expected} bytes\n`);
      process.exit(1);
    }
    process.stdout.write(`${JSON.stringify({ bytes, seconds, firstByteMs })}\n`);
  });
});
req.once('error', (error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
req.end();
