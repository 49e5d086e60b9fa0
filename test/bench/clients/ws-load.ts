// WebSocket load, in a process of its own (headers in BENCH_HEADERS):
//   node ws-load.js echo <url> <seconds>   round trips of 64-byte binary messages on one
//                                          connection: first one at a time (RTT p50/p99), then
//                                          64 in flight (messages per second). Prints JSON.
//   node ws-load.js idle <url> <count>     opens <count> WebSockets that send nothing, prints
//                                          `open <ms>`, and keeps them until stdin closes.
import { once } from 'node:events';
import WebSocket from 'ws';
import { percentile } from '../stats.js';
import { readHeaders } from './headers.js';

const MESSAGE = Buffer.alloc(64, 'm');
const WINDOW = 64;

function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers: readHeaders(), perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

const now = () => Number(process.hrtime.bigint()) / 1e6;

// One message at a time for `ms`: every round trip, in ms.
async function pingPong(ws: WebSocket, ms: number): Promise<number[]> {
  const rtts: number[] = [];
  const end = now() + ms;
  for (;;) {
    const sent = now();
    ws.send(MESSAGE);
    await once(ws, 'message');
    const received = now();
    rtts.push(received - sent);
    if (received >= end) return rtts;
  }
}

// `WINDOW` messages in flight for `ms`: echoes received per second.
function pipelined(ws: WebSocket, ms: number): Promise<number> {
  return new Promise((resolve) => {
    let received = 0;
    let inFlight = 0;
    const start = now();
    const end = start + ms;
    const onMessage = () => {
      received++;
      inFlight--;
      if (now() < end) {
        ws.send(MESSAGE);
        inFlight++;
      } else if (inFlight === 0) {
        ws.off('message', onMessage);
        resolve(received / ((now() - start) / 1000));
      }
    };
    ws.on('message', onMessage);
    for (; inFlight < WINDOW; inFlight++) ws.send(MESSAGE);
  });
}

async function echo(url: string, seconds: number): Promise<void> {
  const ws = await open(url);
  await pingPong(ws, 300);
  const rtts = (await pingPong(ws, (seconds * 1000) / 2)).sort((a, b) => a - b);
  await pipelined(ws, 200);
  const perSecond = await pipelined(ws, (seconds * 1000) / 2);
  ws.close();
  const result = {
    rttP50Ms: percentile(rtts, 50),
    rttP99Ms: percentile(rtts, 99),
    pingPongPerSecond: rtts.length / (seconds / 2),
    messagesPerSecond: perSecond,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// 50 handshakes at a time: the proxy is measured holding idle sockets, not a connection storm.
async function idle(url: string, count: number): Promise<void> {
  const start = now();
  const sockets: WebSocket[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      sockets.push(await open(url));
    }
  };
  await Promise.all(Array.from({ length: Math.min(50, count) }, worker));
  process.stdout.write(`open ${Math.round(now() - start)}\n`);
  process.stdin.resume();
  await once(process.stdin, 'end');
  for (const ws of sockets) ws.terminate();
}

const [mode, url, amount] = process.argv.slice(2);
if (url === undefined || amount === undefined)
  throw new Error('usage: ws-load.js echo|idle <url> <n>');
if (mode === 'echo') await echo(url, Number(amount));
else if (mode === 'idle') await idle(url, Number(amount));
else throw new Error(`unknown mode ${String(mode)}`);
