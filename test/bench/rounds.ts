import { measureOwnStart, measureServeColdStart } from './cold-start.js';
import { FAKE_RSERVER, RSERVER_DOUBLE, startContender, type ContenderName } from './contenders.js';
import {
  measureDownload,
  measureHttp,
  measureIdleSockets,
  measureWsEcho,
  settledRssKb,
} from './measure.js';
import type { ColdStartSeries, ContenderRun, Settings } from './results.js';
import type { Tools } from './tools.js';
import { runWrk } from './wrk.js';

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

// One contender on fresh processes: memory at rest first (idle, then holding idle WebSockets),
// then the load (a wrk warm-up, 1 and 32 connections, WebSocket echo, the download), and the
// memory at rest once it has passed.
export async function runContender(
  name: ContenderName,
  round: number,
  context: RoundContext,
): Promise<ContenderRun> {
  const { settings, tools, wrkScript, log } = context;
  const contender = await startContender(name, context.dir, tools);
  const pids = contender.proxyPids;
  const hasProxy = pids.length > 0;
  try {
    const idleRssKb = hasProxy ? await settledRssKb(pids) : undefined;
    const idleSockets = hasProxy
      ? await measureIdleSockets(contender, settings.idleSockets)
      : undefined;
    let http1;
    let http32;
    if (tools.wrk !== undefined && wrkScript !== undefined) {
      const wrk = { path: tools.wrk, script: wrkScript };
      // A warm-up: the JIT of the Node.js contenders is hot before anything is recorded.
      await runWrk({
        wrk: tools.wrk,
        script: wrkScript,
        url: `${contender.origin}/`,
        headers: contender.headers,
        connections: 32,
        seconds: 1,
      });
      http1 = await measureHttp(contender, wrk, 1, settings.seconds);
      http32 = await measureHttp(contender, wrk, 32, settings.seconds);
    }
    const wsEcho = await measureWsEcho(contender, settings.seconds);
    const download = await measureDownload(contender, settings.downloadBytes);
    const rssAfterLoadKb = hasProxy ? await settledRssKb(pids) : undefined;
    const run = {
      contender: name,
      round,
      idleRssKb,
      idleSockets,
      http1,
      http32,
      wsEcho,
      download,
      rssAfterLoadKb,
    };
    log(describeRun(run));
    return run;
  } finally {
    await contender.stop();
  }
}

const fixed = (value: number | undefined, digits: number) =>
  value === undefined ? '-' : value.toFixed(digits);

function describeRun(run: ContenderRun): string {
  const mb = (kb: number | undefined) => fixed(kb === undefined ? undefined : (kb * 1024) / 1e6, 1);
  return [
    `round ${run.round} ${run.contender}:`,
    `idle ${mb(run.idleRssKb)} MB,`,
    `+WS ${fixed(run.idleSockets && run.idleSockets.kibPerSocket * 1.024, 1)} KB each;`,
    `1c ${fixed(run.http1?.rps, 0)} req/s p50 ${fixed(run.http1?.p50Ms, 3)} ms;`,
    `32c ${fixed(run.http32?.rps, 0)} req/s p99 ${fixed(run.http32?.p99Ms, 2)} ms;`,
    `ws p50 ${fixed(run.wsEcho.rttP50Ms, 3)} ms ${fixed(run.wsEcho.messagesPerSecond, 0)} msg/s;`,
    `download ${fixed(run.download.bytes / 1e6 / run.download.seconds, 0)} MB/s`,
    `(RSS +${mb((run.download.rssPeakKb ?? 0) - (run.download.rssBeforeKb ?? 0))} MB)`,
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
