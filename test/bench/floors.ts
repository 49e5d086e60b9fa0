import { CONTENDER_LABELS, type ContenderName } from './contenders.js';
import { getPassRatios, isPassFigure, summarizePasses } from './pass-ratios.js';
import { summarize, type Results } from './results.js';

/** One of the floors, checked for one contender against this run's figures. */
export interface FloorCheck {
  floor: string;
  contender: ContenderName;
  /** The figure, as the report shows it. */
  figure: string;
  /** undefined when a figure is missing (nginx or wrk skipped). */
  met: boolean | undefined;
}

/**
 * How much more the proxy's RSS may peak during the 1 GiB download than during the warm-up
 * download (8x smaller) and still count as flat, in MB: a proxy that held what it carries
 * would grow by hundreds.
 */
export const FLAT_RSS_MB = 10;

/** A floor on the ratio of a contender's figure to another's in the same run (issue #12). */
export interface RatioFloor {
  key: string;
  /** What the figure is compared with. */
  reference: ContenderName;
  /** The bound on figure / reference. */
  bound: number;
  /** `min`: the figure must be at least bound × the reference's; `max`: at most. */
  kind: 'min' | 'max';
  what: string;
}

// The request floors are against plain http-proxy, so that they measure what the adapter adds
// above its engine; downloads against nginx.
export const RATIO_FLOORS: Record<'adapter' | 'serve', readonly RatioFloor[]> = {
  adapter: [
    {
      key: 'rps32',
      reference: 'httpProxy',
      bound: 0.9,
      kind: 'min',
      what: 'requests/s at 32 connections',
    },
    {
      key: 'p50_1',
      reference: 'httpProxy',
      bound: 1.15,
      kind: 'max',
      what: 'p50 latency at 1 connection',
    },
    {
      key: 'p99_1',
      reference: 'httpProxy',
      bound: 1.5,
      kind: 'max',
      what: 'p99 latency at 1 connection',
    },
    { key: 'download', reference: 'nginx', bound: 0.9, kind: 'min', what: 'download throughput' },
  ],
  serve: [
    {
      key: 'rps32',
      reference: 'httpProxy',
      bound: 0.85,
      kind: 'min',
      what: 'requests/s at 32 connections',
    },
    {
      key: 'p50_1',
      reference: 'httpProxy',
      bound: 1.3,
      kind: 'max',
      what: 'p50 latency at 1 connection',
    },
    { key: 'download', reference: 'nginx', bound: 0.9, kind: 'min', what: 'download throughput' },
  ],
};

const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;

// One decimal: a figure just under its bound (84.5% of a ≥ 85% floor) must not read as the bound.
const pct = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;

// How the floor reads: "requests/s at 32 connections ≥ 90% of plain http-proxy's".
export function describeRatioFloor(floor: RatioFloor): string {
  const bound = floor.kind === 'min' ? `≥ ${floor.bound * 100}% of` : `≤ ${floor.bound}×`;
  return `${floor.what} ${bound} ${CONTENDER_LABELS[floor.reference]}'s`;
}

const unitOf = (key: string) =>
  key === 'download' ? ' MB/s' : key.startsWith('p') ? ' ms' : ' req/s';
const digitsOf = (key: string) => (key.startsWith('p') ? 3 : 0);
const showRatio = (floor: RatioFloor, ratio: number) =>
  floor.kind === 'min' ? pct(ratio) : `${ratio.toFixed(2)}×`;
const meets = (floor: RatioFloor, ratio: number) =>
  floor.kind === 'min' ? ratio >= floor.bound : ratio <= floor.bound;
const versus = (key: string, mine: number, theirs: number) =>
  `${mine.toFixed(digitsOf(key))} vs ${theirs.toFixed(digitsOf(key))}${unitOf(key)}`;

// From the back-to-back passes (paired.ts), where there are any for both: the median of the
// ratios within each pass, which the machine's drift between passes leaves alone.
function checkPassRatio(
  results: Results,
  contender: ContenderName,
  floor: RatioFloor,
): FloorCheck | undefined {
  const samples = results.paired ?? [];
  if (!isPassFigure(floor.key)) return undefined;
  const ratios = getPassRatios(samples, contender, floor.reference, floor.key);
  const mine = summarizePasses(samples, contender, floor.key)?.median;
  const theirs = summarizePasses(samples, floor.reference, floor.key)?.median;
  if (ratios === undefined || mine === undefined || theirs === undefined) return undefined;
  const range = `${showRatio(floor, ratios.min)}–${showRatio(floor, ratios.max)}`;
  return {
    floor: describeRatioFloor(floor),
    contender,
    figure: `${showRatio(floor, ratios.median)} (median of ${ratios.values.length} passes; passes ${range}; medians ${versus(floor.key, mine, theirs)})`,
    met: meets(floor, ratios.median),
  };
}

// The median of the rounds against the reference's: what runs from before the passes have, and
// what the download floor uses.
function checkRatio(results: Results, contender: ContenderName, floor: RatioFloor): FloorCheck {
  const paired = checkPassRatio(results, contender, floor);
  if (paired !== undefined) return paired;
  const mine = summarize(results, contender, floor.key)?.median;
  const theirs = summarize(results, floor.reference, floor.key)?.median;
  const base = { floor: describeRatioFloor(floor), contender };
  if (mine === undefined || theirs === undefined) return { ...base, figure: 'n/a', met: undefined };
  const ratio = mine / theirs;
  return {
    ...base,
    figure: `${showRatio(floor, ratio)} (${versus(floor.key, mine, theirs)})`,
    met: meets(floor, ratio),
  };
}

// The floors, for the adapter and for serve, against other contenders of the same run.
export function checkFloors(results: Results): FloorCheck[] {
  const checks: FloorCheck[] = [];
  const proxies = (['adapter', 'serve'] as const).filter((name) =>
    results.contenders.includes(name),
  );
  for (const contender of proxies) {
    for (const floor of RATIO_FLOORS[contender]) checks.push(checkRatio(results, contender, floor));
    const growth = summarize(results, contender, 'downloadRss');
    checks.push({
      floor: `RSS flat whatever the size (1 GiB peak ≤ warm-up peak + ${FLAT_RSS_MB} MB)`,
      contender,
      figure: growth
        ? `${signed(growth.median)} MB (rounds: ${signed(growth.min)} to ${signed(growth.max)})`
        : 'n/a',
      met: growth && growth.median <= FLAT_RSS_MB,
    });
    const perSocket = summarize(results, contender, 'kbPerWs');
    checks.push({
      floor: '≤ 30 KB of RSS per idle WebSocket',
      contender,
      figure: perSocket ? `${perSocket.median.toFixed(1)} KB` : 'n/a',
      met: perSocket && perSocket.median <= 30,
    });
  }
  const serveIdle = summarize(results, 'serve', 'idleRss');
  if (serveIdle !== undefined) {
    checks.push({
      floor: 'idle RSS of serve ≤ 60 MB',
      contender: 'serve',
      figure: `${serveIdle.median.toFixed(1)} MB (${((serveIdle.median * 1e6) / 2 ** 20).toFixed(1)} MiB)`,
      met: serveIdle.median <= 60,
    });
  }
  return checks;
}
