import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { waitForExit, waitForLine } from '../helpers/processes.js';
import { fetchText } from '../helpers/fetch-text.js';
import { readMemory, resetPeak } from '../helpers/proc-usage.js';
import { makeTempDir } from '../helpers/temp.js';
import { startTinyBackend, type TinyBackend } from '../helpers/tiny-backend.js';

const MiB = 1024 * 1024;

// Downloads `url`, counting bytes and discarding them as they come; with `pause`, the reading
// stops for `pause.ms` once `pause.after` bytes have come (a client slower than rserver).
function download(
  url: string,
  pause?: { after: number; ms: number },
): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, signal: AbortSignal.timeout(60_000) }, (res) => {
      let bytes = 0;
      let paused = false;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (pause === undefined || paused || bytes < pause.after) return;
        paused = true;
        res.pause();
        setTimeout(() => res.resume(), pause.ms);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

// `size` deterministic bytes, produced as they are read.
function generate(size: number): Readable {
  let left = size;
  let counter = 0;
  return new Readable({
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const chunk = Buffer.alloc(Math.min(left, 256 * 1024), counter++ % 251);
      left -= chunk.length;
      this.push(chunk);
    },
  });
}

describe('large transfers stream through the proxy', () => {
  const dir = makeTempDir('rsp-streams-');
  let backend: TinyBackend;
  let proxy: ChildProcess;
  let origin: string;

  before(async () => {
    backend = await startTinyBackend(dir);
    proxy = spawn(
      process.execPath,
      [join(import.meta.dirname, '..', 'fixtures', 'adapter-front.js'), backend.socketPath],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const line = await waitForLine(proxy, /^listening \d+$/);
    origin = `http://127.0.0.1:${line.split(' ')[1] ?? ''}`;
  });
  after(async () => {
    proxy.stdin?.end();
    await waitForExit(proxy).catch(() => proxy.kill('SIGKILL'));
    await backend.close();
  });

  // A proxy that buffered the answer would grow by its size; one that streams grows by what its
  // buffers and the heap's own slack hold (about 35 MB on Node 20, 70 MB on Node 26). How little
  // exactly is `npm run bench`'s figure (RSS flat from 128 MiB to 1 GiB), not this test's.
  test('a 200 MiB download streams: the proxy grows by far less than its size', async () => {
    const pid = proxy.pid ?? 0;
    await download(`${origin}/rstudio/stream?size=${MiB}`);
    const before = readMemory(pid);
    resetPeak(pid);
    const started = Date.now();
    const answer = await download(`${origin}/rstudio/stream?size=${200 * MiB}`);
    const seconds = (Date.now() - started) / 1000;
    assert.equal(answer.status, 200);
    assert.equal(answer.bytes, 200 * MiB);
    const afterwards = readMemory(pid);
    const growth = afterwards.peak - before.rss;
    console.log(
      `# 200 MiB in ${seconds.toFixed(1)} s; proxy RSS ${(before.rss / MiB).toFixed(1)} MiB before, peak ${(afterwards.peak / MiB).toFixed(1)} MiB during: +${(growth / 1e6).toFixed(1)} MB`,
    );
    assert.ok(growth < (200 * MiB) / 2, `the proxy grew by ${growth} bytes`);
  });

  // A body without Content-Length (or a small one) goes through the adapter's own relay, not the
  // raw one: it must stop reading from rserver while the client does not read. One that did not
  // would take the whole rest from rserver, which is faster than any client, during the pause.
  test('a chunked 200 MiB download to a client that stops reading: the proxy waits for it', async () => {
    const pid = proxy.pid ?? 0;
    await download(`${origin}/rstudio/stream?size=${MiB}&chunked=1`);
    const before = readMemory(pid);
    resetPeak(pid);
    const answer = await download(`${origin}/rstudio/stream?size=${200 * MiB}&chunked=1`, {
      after: 8 * MiB,
      ms: 2000,
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.bytes, 200 * MiB);
    const growth = readMemory(pid).peak - before.rss;
    console.log(
      `# chunked 200 MiB, 2 s pause: proxy RSS +${(growth / 1e6).toFixed(1)} MB at its peak`,
    );
    assert.ok(growth < (200 * MiB) / 2, `the proxy grew by ${growth} bytes`);
  });

  test('a 50 MiB upload arrives intact', async () => {
    const size = 50 * MiB;
    const expected = createHash('sha256');
    for await (const chunk of generate(size)) expected.update(chunk as Buffer);
    const answer = await fetchText(`${origin}/rstudio/upload`, {
      method: 'POST',
      body: generate(size),
      headers: { 'content-type': 'application/octet-stream' },
      timeout: 60_000,
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body), { bytes: size, sha256: expected.digest('hex') });
  });
});
