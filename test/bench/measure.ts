import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { HEADERS_ENV } from './clients/headers.js';
import type { Contender } from './contenders.js';
import { readCpuSeconds, readMemory, sampleRss } from './proc-stats.js';
import { runCommand, startProcess } from './processes.js';
import { getStealShare, readCpuTimes } from './steal-time.js';
import { runWrk, type HttpResult } from './wrk.js';

const WS_LOAD = fileURLToPath(new URL('./clients/ws-load.js', import.meta.url));
const DOWNLOAD = fileURLToPath(new URL('./clients/download.js', import.meta.url));

const toWs = (origin: string) => origin.replace(/^http:/, 'ws:');
const clientEnv = (contender: Contender) => ({
  ...process.env,
  [HEADERS_ENV]: JSON.stringify(contender.headers),
});

// Waits until the proxy's RSS stops moving (two samples 250 ms apart within 1%), at most 3 s:
// what a process holds right after some work, once it stops allocating.
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

/**
 * How long a proxy is left without traffic before its idle RSS is read. V8 gives memory back
 * (its "memory reducer": a full GC, a smaller young generation) only some seconds after the
 * last allocation; read sooner, a Node.js process looks several MB larger than it stays.
 */
export const IDLE_MS = 12_000;

/** WebSockets held open through a proxy by a client process, until closed. */
export interface IdleSockets {
  count: number;
  /** How long opening them took, 50 handshakes at a time. */
  openMs: number;
  close(): Promise<void>;
}

// Opens `count` WebSockets through the proxy that then say nothing.
export async function openIdleSockets(contender: Contender, count: number): Promise<IdleSockets> {
  const { process: client, match } = await startProcess(
    process.execPath,
    [WS_LOAD, 'idle', `${toWs(contender.origin)}/`, String(count)],
    /^open (\d+)$/,
    { env: clientEnv(contender), timeout: 60_000 },
  );
  return {
    count,
    openMs: Number(match[1]),
    async close() {
      client.child.stdin?.end();
      await client.stop();
    },
  };
}

export interface HttpMeasurement extends HttpResult {
  /** The proxy's CPU time per request, in µs (both nginx processes; undefined for direct). */
  cpuUsPerRequest: number | undefined;
  /** The machine's CPU time the host took during the run, 0-1 (absent in older runs, and
   * wherever /proc/stat has no steal field). */
  stealShare?: number | undefined;
}

// wrk at 32 connections for `seconds` (one unless said), not recorded: the JIT of the Node.js
// contenders is hot before anything is.
export async function warmUpHttp(
  contender: Contender,
  wrk: { path: string; script: string },
  seconds = 1,
): Promise<void> {
  await runWrk({
    wrk: wrk.path,
    script: wrk.script,
    url: `${contender.origin}/`,
    headers: contender.headers,
    connections: 32,
    seconds,
  });
}

// One wrk run against GET /, with the proxy's CPU time over it and the host's steal.
export async function measureHttp(
  contender: Contender,
  wrk: { path: string; script: string },
  connections: number,
  seconds: number,
): Promise<HttpMeasurement> {
  const pids = contender.proxyPids;
  const cpuBefore = pids.length > 0 ? readCpuSeconds(pids) : 0;
  const machineBefore = readCpuTimes();
  const result = await runWrk({
    wrk: wrk.path,
    script: wrk.script,
    url: `${contender.origin}/`,
    headers: contender.headers,
    connections,
    seconds,
  });
  const stealShare = getStealShare(machineBefore, readCpuTimes());
  if (result.errors > 0) {
    throw new Error(`${contender.name}: ${result.errors} errors in ${result.requests} requests`);
  }
  const cpu = pids.length > 0 ? readCpuSeconds(pids) - cpuBefore : undefined;
  const cpuUsPerRequest = cpu === undefined ? undefined : (cpu * 1e6) / result.requests;
  return { ...result, cpuUsPerRequest, stealShare };
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
  /** The proxy's RSS before the downloads, and the highest sample (every 50 ms) during each. */
  rssBeforeKb: number | undefined;
  warmupBytes: number;
  warmupPeakKb: number | undefined;
  rssPeakKb: number | undefined;
  /** The proxy's CPU time (user + system) during the measured download, in seconds. */
  cpuSeconds: number | undefined;
}

interface DownloadRun {
  bytes: number;
  seconds: number;
  firstByteMs: number;
  peakKb: number | undefined;
}

async function download(contender: Contender, bytes: number): Promise<DownloadRun> {
  const pids = contender.proxyPids;
  const sampler = pids.length > 0 ? sampleRss(pids) : undefined;
  const result = await runCommand(
    process.execPath,
    [DOWNLOAD, `${contender.origin}/download?size=${bytes}`],
    { env: clientEnv(contender), timeout: 600_000 },
  );
  const peakKb = sampler?.stop();
  if (result.code !== 0) throw new Error(`${contender.name}: download failed: ${result.stderr}`);
  const figures = JSON.parse(result.stdout) as Omit<DownloadRun, 'peakKb'>;
  return { ...figures, peakKb };
}

// A download of `warmupBytes`, then the one measured: a proxy's first large transfer grows its
// heap once (Node.js) or fills its buffers (nginx); the second shows the steady state, and its
// RSS peak against the first's shows whether memory follows the size (it must not).
export async function measureDownload(
  contender: Contender,
  warmupBytes: number,
  bytes: number,
): Promise<DownloadResult> {
  const pids = contender.proxyPids;
  const rssBeforeKb = pids.length > 0 ? readMemory(pids).rssKb : undefined;
  const warmup = await download(contender, warmupBytes);
  const cpuBefore = pids.length > 0 ? readCpuSeconds(pids) : undefined;
  const measured = await download(contender, bytes);
  const cpuSeconds = cpuBefore === undefined ? undefined : readCpuSeconds(pids) - cpuBefore;
  return {
    bytes: measured.bytes,
    seconds: measured.seconds,
    firstByteMs: measured.firstByteMs,
    rssBeforeKb,
    warmupBytes,
    warmupPeakKb: warmup.peakKb,
    rssPeakKb: measured.peakKb,
    cpuSeconds,
  };
}
