import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeFront, startFront, type Front } from '../helpers/front.js';
import { waitUntil } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp.js';
import { startTinyBackend, type TinyBackend } from '../helpers/tiny-backend.js';
import { closeWebSocket, nextMessage, openWebSocket } from '../helpers/ws-client.js';

// Open descriptors of this process: the proxy, its backend and the clients all live here, so a
// socket leaked on any side shows.
const CONCURRENCY = 20;

function countFds(): number {
  return readdirSync('/proc/self/fd').length;
}

// Runs `task(i)` for i in [0, total) with at most `concurrency` at a time.
async function runMany(total: number, concurrency: number, task: (i: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < total) await task(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

function get(agent: Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, signal: AbortSignal.timeout(10_000) }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('no descriptor leaks', () => {
  const dir = makeTempDir('rsp-leaks-');
  let backend: TinyBackend;
  let front: Front;
  let dead: Front;

  before(async () => {
    backend = await startTinyBackend(dir);
    front = await startFront({ backend: backend.socketPath, prefix: '/rstudio' });
    dead = await startFront({ backend: join(dir, 'nobody.sock'), prefix: '/rstudio' });
  });
  after(async () => {
    await closeFront(front);
    await closeFront(dead);
    await backend.close();
  });

  // Waits (at most 10 s) until this process holds no more than `baseline + allowance` descriptors
  // (plus 2 for whatever node:test itself opens), and reports the figures.
  async function assertBackTo(baseline: number, allowance: number, what: string) {
    const peak = countFds();
    const limit = baseline + allowance + 2;
    try {
      await waitUntil(() => countFds() <= limit, 10_000, `${what}: fds back to ${limit}`);
    } catch (error) {
      throw new Error(`${String(error)} (${countFds()} open)`, { cause: error });
    }
    console.log(`# ${what}: ${baseline} fds before, ${peak} right after, ${countFds()} settled`);
  }

  test('10,000 requests (200, 302, 404, 502, client aborts)', async () => {
    const baseline = countFds();
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    await runMany(10_000, CONCURRENCY, async (i) => {
      switch (i % 10) {
        case 7:
          assert.equal(await get(agent, `${front.origin}/elsewhere`), 404);
          return;
        case 8:
          assert.equal(await get(agent, `${dead.origin}/rstudio/x`), 502);
          return;
        case 9: {
          const to = encodeURIComponent('http://localhost/x');
          assert.equal(await get(agent, `${front.origin}/rstudio/redirect?to=${to}`), 302);
          return;
        }
        default:
          assert.equal(await get(agent, `${front.origin}/rstudio/echo/${i}`), 200);
      }
    });
    agent.destroy();
    // Clients that leave mid-download, each taking its backend request along.
    for (let i = 0; i < 100; i++) {
      await new Promise<void>((resolve) => {
        const url = `${front.origin}/rstudio/stream?size=${64 * 1024 * 1024}`;
        const req = request(url, { agent: false }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => resolve());
        req.end();
      });
    }
    // The adapter keeps up to CONCURRENCY idle connections to rserver (both ends are in this
    // process): that pool is bounded by concurrency, a leak would grow with the request count.
    await assertBackTo(baseline, 2 * CONCURRENCY, '10,000 requests');
  });

  test('1,000 WebSocket open/close cycles (clean close, client reset, backend reset)', async () => {
    const url = `ws://127.0.0.1:${front.port}/rstudio/p/cafe/terminal/1/`;
    const cycle = async (i: number) => {
      const ws = await openWebSocket(url);
      ws.send(`frame ${i}`);
      assert.equal(await nextMessage(ws), `frame ${i}`);
      if (i % 10 === 8) {
        ws.terminate();
      } else if (i % 10 === 9) {
        const closed = new Promise((resolve) => ws.once('close', resolve));
        for (const peer of backend.sockets) peer.terminate();
        await closed;
      } else {
        await closeWebSocket(ws);
      }
    };
    await runMany(20, 1, cycle);
    await waitUntil(() => backend.sockets.size === 0, 5000, 'backend sockets closed');
    const baseline = countFds();
    await runMany(1000, 10, cycle);
    await assertBackTo(baseline, 0, '1,000 WebSocket cycles');
    await waitUntil(() => backend.sockets.size === 0, 5000, 'backend sockets closed');
  });
});
