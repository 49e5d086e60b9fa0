import type { ColdStartSample } from './cold-start.js';
import type { ContenderName } from './contenders.js';
import type { Machine } from './machine.js';
import type { SlurmResults } from './slurm.js';
import type { DownloadResult, HttpMeasurement, WsEchoResult } from './measure.js';
import { spread, type Spread } from './stats.js';

export interface Settings {
  repeats: number;
  /** Length of each wrk run and of each WebSocket echo run. */
  seconds: number;
  downloadBytes: number;
  /** The download before the measured one (see measureDownload). */
  warmupDownloadBytes: number;
  idleSockets: number;
  /** How long a proxy is left alone before its idle memory is read (see IDLE_MS). */
  idleMs: number;
  coldStarts: number;
  /** Back-to-back passes per round for the request floors (see paired.ts); absent in runs from
   * before there were any. */
  pairedPasses?: number | undefined;
  /** How the passes ran their contenders. `fresh-processes`: new processes for every pass, each
   * run at 32 connections and then each at 1. Absent (older runs): the processes of the round,
   * each at 32 and at 1 in turn. */
  passOrder?: 'fresh-processes' | undefined;
}

/** A proxy's memory at rest, read after it was left alone for `idleMs`. */
export interface MemoryResult {
  /** Right after starting and one request, once RSS stops moving (see settledRssKb). */
  busyRssKb: number;
  /** The same process after `idleMs` without traffic. */
  idleRssKb: number;
  /** Of the idle RSS: the process's share of the pages it shares with others, and its own. */
  idlePssKb: number | undefined;
  idleAnonymousKb: number | undefined;
  /** WebSockets in each of the two batches. */
  sockets: number;
  /** With the first batch of `sockets` WebSockets open through it and silent (absent in runs
   * from before there were two batches). */
  firstSocketsRssKb?: number | undefined;
  /** With both batches open: over the idle RSS, divided by 2 × `sockets`, is the figure. */
  withSocketsRssKb: number;
  /** How long opening them took, 50 handshakes at a time. */
  openMs: number;
}

/** Everything measured for one contender in one round, on fresh processes. */
export interface ContenderRun {
  contender: ContenderName;
  round: number;
  /** None for direct: there is no proxy. */
  memory: MemoryResult | undefined;
  /** undefined without wrk. */
  http1: HttpMeasurement | undefined;
  http32: HttpMeasurement | undefined;
  wsEcho: WsEchoResult;
  download: DownloadResult;
}

/** One contender's wrk runs in one back-to-back pass (see paired.ts). */
export interface PairedSample {
  round: number;
  /** The pass within its round, from 1. */
  pass: number;
  contender: ContenderName;
  http1: HttpMeasurement;
  http32: HttpMeasurement;
}

export interface ColdStartSeries {
  /** What served as rserver: the bench backend, or the rserver test double. */
  rserver: 'bench backend' | 'rserver double';
  samples: ColdStartSample[];
}

export interface Results {
  version: 1;
  generatedAt: string;
  mode: 'full' | 'quick';
  settings: Settings;
  machine: Machine;
  contenders: ContenderName[];
  /** Contenders or figures left out, and why. */
  skipped: string[];
  nginxConfig: string | undefined;
  runs: ContenderRun[];
  /** The back-to-back passes the request floors come from; absent in runs from before them. */
  paired?: PairedSample[] | undefined;
  coldStart: ColdStartSeries[];
  /** The Slurm path (test/bench/slurm.ts), when it ran. */
  slurm?: SlurmResults | undefined;
}

export interface Metric {
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  digits: number;
  get(run: ContenderRun): number | undefined;
}

// /proc counts KiB; the report uses decimal units, as the floors do (60 MB, 30 KB).
export const KIB_TO_MB = 1024 / 1e6;
const toMb = (kb: number | undefined) => (kb === undefined ? undefined : kb * KIB_TO_MB);

/** Every figure of the table, in its order. */
export const METRICS: readonly Metric[] = [
  {
    key: 'rps1',
    label: 'requests/s, 1 connection',
    unit: 'req/s',
    better: 'higher',
    digits: 0,
    get: (r) => r.http1?.rps,
  },
  {
    key: 'p50_1',
    label: 'p50 latency, 1 connection',
    unit: 'ms',
    better: 'lower',
    digits: 3,
    get: (r) => r.http1?.p50Ms,
  },
  {
    key: 'p99_1',
    label: 'p99 latency, 1 connection',
    unit: 'ms',
    better: 'lower',
    digits: 3,
    get: (r) => r.http1?.p99Ms,
  },
  {
    key: 'rps32',
    label: 'requests/s, 32 connections',
    unit: 'req/s',
    better: 'higher',
    digits: 0,
    get: (r) => r.http32?.rps,
  },
  {
    key: 'p50_32',
    label: 'p50 latency, 32 connections',
    unit: 'ms',
    better: 'lower',
    digits: 2,
    get: (r) => r.http32?.p50Ms,
  },
  {
    key: 'p99_32',
    label: 'p99 latency, 32 connections',
    unit: 'ms',
    better: 'lower',
    digits: 2,
    get: (r) => r.http32?.p99Ms,
  },
  {
    key: 'cpu32',
    label: 'proxy CPU per request, 32 connections',
    unit: 'µs',
    better: 'lower',
    digits: 1,
    get: (r) => r.http32?.cpuUsPerRequest,
  },
  {
    key: 'wsP50',
    label: 'WebSocket echo RTT p50',
    unit: 'ms',
    better: 'lower',
    digits: 3,
    get: (r) => r.wsEcho.rttP50Ms,
  },
  {
    key: 'wsP99',
    label: 'WebSocket echo RTT p99',
    unit: 'ms',
    better: 'lower',
    digits: 3,
    get: (r) => r.wsEcho.rttP99Ms,
  },
  {
    key: 'wsRate',
    label: 'WebSocket messages/s, 64 in flight',
    unit: 'msg/s',
    better: 'higher',
    digits: 0,
    get: (r) => r.wsEcho.messagesPerSecond,
  },
  {
    key: 'download',
    label: 'download throughput',
    unit: 'MB/s',
    better: 'higher',
    digits: 0,
    get: (r) => r.download.bytes / 1e6 / r.download.seconds,
  },
  {
    key: 'downloadCpu',
    label: 'proxy CPU per GiB downloaded',
    unit: 's',
    better: 'lower',
    digits: 2,
    get: (r) =>
      r.download.cpuSeconds === undefined
        ? undefined
        : r.download.cpuSeconds / (r.download.bytes / 2 ** 30),
  },
  {
    key: 'downloadRss',
    label: 'proxy RSS growth from the small download to the 1 GiB one',
    unit: 'MB',
    better: 'lower',
    digits: 1,
    get: (r) =>
      r.download.rssPeakKb === undefined || r.download.warmupPeakKb === undefined
        ? undefined
        : (r.download.rssPeakKb - r.download.warmupPeakKb) * KIB_TO_MB,
  },
  {
    key: 'downloadPeak',
    label: 'proxy RSS peak during the 1 GiB download',
    unit: 'MB',
    better: 'lower',
    digits: 1,
    get: (r) => toMb(r.download.rssPeakKb),
  },
  {
    key: 'busyRss',
    label: 'proxy RSS right after its first request',
    unit: 'MB',
    better: 'lower',
    digits: 1,
    get: (r) => toMb(r.memory?.busyRssKb),
  },
  {
    key: 'idleRss',
    label: 'proxy RSS, idle',
    unit: 'MB',
    better: 'lower',
    digits: 1,
    get: (r) => toMb(r.memory?.idleRssKb),
  },
  {
    key: 'idlePss',
    label: 'of which its own: Pss (shared pages divided among their users)',
    unit: 'MB',
    better: 'lower',
    digits: 1,
    get: (r) => toMb(r.memory?.idlePssKb),
  },
  {
    key: 'idleAnonymous',
    label: 'of which anonymous (heap, stacks: nobody shares them)',
    unit: 'MB',
    better: 'lower',
    digits: 1,
    get: (r) => toMb(r.memory?.idleAnonymousKb),
  },
  {
    key: 'wsRss',
    label: 'proxy RSS with both batches of idle WebSockets open',
    unit: 'MB',
    better: 'lower',
    digits: 1,
    get: (r) => toMb(r.memory?.withSocketsRssKb),
  },
  {
    key: 'kbPerWs',
    label: 'RSS per idle WebSocket, both batches over idle (what the first costs once included)',
    unit: 'KB',
    better: 'lower',
    digits: 1,
    // Not the second batch alone: a collection between the two readings made it negative in
    // two rounds of three for the adapter and serve (-3.8 and -2.9 KB), which bounds nothing.
    // Both batches over the idle RSS is an upper bound, one-time costs and all.
    get: (r) =>
      r.memory === undefined
        ? undefined
        : ((r.memory.withSocketsRssKb - r.memory.idleRssKb) * 1.024) / (2 * r.memory.sockets),
  },
];

export function getMetric(key: string): Metric {
  const metric = METRICS.find((candidate) => candidate.key === key);
  if (!metric) throw new Error(`no metric ${key}`);
  return metric;
}

// The median, min and max of one figure for one contender across rounds; undefined when the
// figure does not apply to it (direct has no proxy memory) or was skipped.
export function summarize(
  results: Results,
  contender: ContenderName,
  key: string,
): Spread | undefined {
  const metric = getMetric(key);
  const values = results.runs
    .filter((run) => run.contender === contender)
    .map((run) => metric.get(run))
    .filter((value): value is number => value !== undefined && Number.isFinite(value));
  return values.length === 0 ? undefined : spread(values);
}

/** serve's cold start for one rserver: its own start, through serve, and the difference. */
export function summarizeColdStart(samples: readonly ColdStartSample[]) {
  const own = spread(samples.map((sample) => sample.ownStartMs));
  const through = spread(samples.map((sample) => sample.serveFirstByteMs));
  return { own, through, overheadMs: through.median - own.median };
}
