import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { HEADERS_ENV } from './clients/headers.js';
import type { Contender } from './contenders.js';
import { readCpuSeconds, readMemory, sampleRss } from './proc-stats.js';
import { runCommand, startProcess } from './processes.js';
import { runWrk, type HttpResult } from './wrk.js';

const WS_LOAD = fileURLToPath(new URL('./clients/ws-load.js', import.meta.url));
const DOWNLOAD = fileURLToPath(new URL('./clients/download.js', import.meta.url));

const toWs = (origin: string) => origin.replace(/^http:/, 'ws:');
const clientEnv = (contender: Contender) => ({
  ...process.env,
  [HEADERS_ENV]: JSON.stringify(contender.headers),
});

// Waits until the proxy's RSS stops moving (two samples 250 ms apart within 1%), at most 3 s:
// what a process holds at rest, not while it is still allocating.
export async function settledRssKb(pids: readonly number[]): Promise<number> {
  let last = readMemory(pids).rssKb;
  for (let i = 0; i < 12; i++) {
    await delay(250);
    const now = readMemory(pids).rssKb;
    if (Math.abs(now - last) <= last * 0.01) return now;
    last = now;
  }
  return last;
}

export interface IdleSocketsResult {
  count: number;
  rssBeforeKb: number;
  rssWithSocketsKb: number;
  kibPerSocket: number;
  openMs: number;
}

// Opens `count` WebSockets through the proxy that then say nothing, and measures what the proxy
// holds for them.
export async function measureIdleSockets(
  contender: Contender,
  count: number,
): Promise<IdleSocketsResult> {
  const rssBeforeKb = await settledRssKb(contender.proxyPids);
  const { process: client, match } = await startProcess(
    process.execPath,
    [WS_LOAD, 'idle', `${toWs(contender.origin)}/`, String(count)],
    /^open (\d+)$/,
    { env: clientEnv(contender), timeout: 60_000 },
  );
  try {
    const rssWithSocketsKb = await settledRssKb(contender.proxyPids);
    return {
      count,
      rssBeforeKb,
      rssWithSocketsKb,
      kibPerSocket: (rssWithSocketsKb - rssBeforeKb) / count,
      openMs: Number(match[1]),
    };
  } finally {
    client.child.stdin?.end();
    await client.stop();
  }
}

export interface HttpMeasurement extends HttpResult {
  /** The proxy's CPU time per request, in µs (both nginx processes; undefined for direct). */
  cpuUsPerRequest: number | undefined;
}

// One wrk run against GET /, with the proxy's CPU time over it.
export async function measureHttp(
  contender: Contender,
  wrk: { path: string; script: string },
  connections: number,
  seconds: number,
): Promise<HttpMeasurement> {
  const pids = contender.proxyPids;
  const cpuBefore = pids.length > 0 ? readCpuSeconds(pids) : 0;
  const result = await runWrk({
    wrk: wrk.path,
    script: wrk.script,
    url: `${contender.origin}/`,
    headers: contender.headers,
    connections,
    seconds,
  });
  if (result.errors > 0) {
    throw new Error(`${contender.name}: ${result.errors} errors in ${result.requests} requests`);
  }
  const cpu = pids.length > 0 ? readCpuSeconds(pids) - cpuBefore : undefined;
  const cpuUsPerRequest = cpu === undefined ? undefined : (cpu * 1e6) / result.requests;
  return { ...result, cpuUsPerRequest };
}

export interface WsEchoResult {
  rttP50Ms: number;
  rttP99Ms: number;
  pingPongPerSecond: number;
  messagesPerSecond: number;
}

export async function measureWsEcho(contender: Contender, seconds: number): Promise<WsEchoResult> {
  const result = await runCommand(
    process.execPath,
    [WS_LOAD, 'echo', `${toWs(contender.origin)}/echo`, String(seconds)],
    { env: clientEnv(contender), timeout: (seconds + 30) * 1000 },
  );
  if (result.code !== 0) throw new Error(`${contender.name}: ws echo failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as WsEchoResult;
}

export interface DownloadResult {
  bytes: number;
  seconds: number;
  firstByteMs: number;
  /** The proxy's RSS before the download, and the highest sample during it (every 50 ms). */
  rssBeforeKb: number | undefined;
  rssPeakKb: number | undefined;
}

export async function measureDownload(
  contender: Contender,
  bytes: number,
): Promise<DownloadResult> {
  const pids = contender.proxyPids;
  const rssBeforeKb = pids.length > 0 ? readMemory(pids).rssKb : undefined;
  const sampler = pids.length > 0 ? sampleRss(pids) : undefined;
  const result = await runCommand(
    process.execPath,
    [DOWNLOAD, `${contender.origin}/download?size=${bytes}`],
    { env: clientEnv(contender), timeout: 600_000 },
  );
  const rssPeakKb = sampler?.stop();
  if (result.code !== 0) throw new Error(`${contender.name}: download failed: ${result.stderr}`);
  const figures = JSON.parse(result.stdout) as {
    bytes: number;
    seconds: number;
    firstByteMs: number;
  };
  return { ...figures, rssBeforeKb, rssPeakKb };
}
