import { setTimeout as delay } from 'node:timers/promises';
import { measureOwnStart, measureServeColdStart } from './cold-start.js';
import {
  FAKE_RSERVER,
  RSERVER_DOUBLE,
  startContender,
  type Contender,
  type ContenderName,
} from './contenders.js';
import {
  measureDownload,
  measureHttp,
  measureWsEcho,
  openIdleSockets,
  settledRssKb,
  warmUpHttp,
  type IdleSockets,
} from './measure.js';
import { readMemory, readMemoryShares } from './proc-stats.js';
import type { ColdStartSeries, ContenderRun, MemoryResult, Settings } from './results.js';
import type { Tools } from './tools.js';

export interface RoundContext {
  dir: string;
  tools: Tools;
  settings: Settings;
  /** The wrk report script; undefined without wrk. */
  wrkScript: string | undefined;
  log: (line: string) => void;
}

// Each round runs every contender once; the order rotates from one round to the next, so that
// no contender always goes first (or always runs while the machine is hottest).
export function getRoundOrder<T>(contenders: readonly T[], round: number): T[] {
  const shift = round % Math.max(1, contenders.length);
  return [...contenders.slice(shift), ...contenders.slice(0, shift)];
}

const mb = (kb: number) => ((kb * 1024) / 1e6).toFixed(1);

// Memory at rest, for every proxy at once (the wait for V8 to give memory back is then paid
// once per round, not once per contender): fresh processes, one request each, left alone, read;
// then each holds idle WebSockets, left alone, read again.
export async function runMemoryPhase(
  names: readonly ContenderName[],
  context: RoundContext,
): Promise<Map<ContenderName, MemoryResult>> {
  const { settings, log } = context;
  const running: Contender[] = [];
  const sockets: IdleSockets[] = [];
  const results = new Map<ContenderName, MemoryResult>();
  try {
    const busy: number[] = [];
    for (const name of names) {
      const contender = await startContender(name, context.dir, context.tools);
      running.push(contender);
      busy.push(await settledRssKb(contender.proxyPids));
    }
    await delay(settings.idleMs);
    const idle = running.map((contender) => readMemory(contender.proxyPids).rssKb);
    const shares = running.map((contender) => readMemoryShares(contender.proxyPids));
    // Two batches of WebSockets: what the first costs includes what is paid once (the code of
    // the WebSocket path compiled, the pages of the binary it brings in); both readings are kept,
    // and the figure is both batches over idle (results.ts, kbPerWs).
    const openBatch = async () => {
      const opened: IdleSockets[] = [];
      for (const contender of running) {
        opened.push(await openIdleSockets(contender, settings.idleSockets));
      }
      sockets.push(...opened);
      await delay(settings.idleMs);
      return opened;
    };
    const firstBatch = await openBatch();
    const first = running.map((contender) => readMemory(contender.proxyPids).rssKb);
    await openBatch();
    running.forEach((contender, index) => {
      const idleRssKb = idle[index] ?? 0;
      const firstSocketsRssKb = first[index] ?? 0;
      const withSocketsRssKb = readMemory(contender.proxyPids).rssKb;
      const openMs = firstBatch[index]?.openMs ?? 0;
      results.set(contender.name, {
        busyRssKb: busy[index] ?? 0,
        idleRssKb,
        idlePssKb: shares[index]?.pssKb,
        idleAnonymousKb: shares[index]?.anonymousKb,
        sockets: settings.idleSockets,
        firstSocketsRssKb,
        withSocketsRssKb,
        openMs,
      });
      log(
        `memory ${contender.name}: idle ${mb(idleRssKb)} MB, with ${settings.idleSockets} WebSockets ${mb(firstSocketsRssKb)} MB, with ${2 * settings.idleSockets} ${mb(withSocketsRssKb)} MB`,
      );
    });
  } finally {
    for (const held of sockets) await held.close();
    for (const contender of running) await contender.stop();
  }
  return results;
}

export type LoadRun = Omit<ContenderRun, 'memory' | 'round'>;

// The load on one contender, on fresh processes: a wrk warm-up (the JIT of the Node.js
// contenders is hot before anything is recorded), 1 and 32 connections, WebSocket echo, and
// the download.
export async function runLoadPhase(name: ContenderName, context: RoundContext): Promise<LoadRun> {
  const { settings, tools, wrkScript, log } = context;
  const contender = await startContender(name, context.dir, tools);
  try {
    let http1;
    let http32;
    if (tools.wrk !== undefined && wrkScript !== undefined) {
      const wrk = { path: tools.wrk, script: wrkScript };
      await warmUpHttp(contender, wrk);
      http1 = await measureHttp(contender, wrk, 1, settings.seconds);
      http32 = await measureHttp(contender, wrk, 32, settings.seconds);
    }
    const wsEcho = await measureWsEcho(contender, settings.seconds);
    const download = await measureDownload(
      contender,
      settings.warmupDownloadBytes,
      settings.downloadBytes,
    );
    const run = { contender: name, http1, http32, wsEcho, download };
    log(describeLoad(run));
    return run;
  } finally {
    await contender.stop();
  }
}

const fixed = (value: number | undefined, digits: number) =>
  value === undefined ? '-' : value.toFixed(digits);

function describeLoad(run: LoadRun): string {
  return [
    `load ${run.contender}:`,
    `1c ${fixed(run.http1?.rps, 0)} req/s p50 ${fixed(run.http1?.p50Ms, 3)} ms;`,
    `32c ${fixed(run.http32?.rps, 0)} req/s p99 ${fixed(run.http32?.p99Ms, 2)} ms;`,
    `ws p50 ${fixed(run.wsEcho.rttP50Ms, 3)} ms ${fixed(run.wsEcho.messagesPerSecond, 0)} msg/s;`,
    `download ${fixed(run.download.bytes / 1e6 / run.download.seconds, 0)} MB/s`,
  ].join(' ');
}

// serve's cold start, with the bench backend and with the rserver double as rserver, each
// against the same rserver started by hand: the difference is what serve adds.
export async function runColdStarts(context: RoundContext): Promise<ColdStartSeries[]> {
  const series: ColdStartSeries[] = [
    { rserver: 'bench backend', samples: [] },
    { rserver: 'rserver double', samples: [] },
  ];
  for (let i = 0; i < context.settings.coldStarts; i++) {
    for (const entry of series) {
      const rserver = entry.rserver === 'bench backend' ? FAKE_RSERVER : RSERVER_DOUBLE;
      const ownStartMs = await measureOwnStart(rserver, context.dir);
      const serve = await measureServeColdStart(rserver, context.dir);
      entry.samples.push({ ownStartMs, ...serve });
      context.log(
        `cold start ${i + 1} (${entry.rserver}): own ${ownStartMs.toFixed(0)} ms, through serve ${serve.serveFirstByteMs.toFixed(0)} ms`,
      );
    }
  }
  return series;
}
