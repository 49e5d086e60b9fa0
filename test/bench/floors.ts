import type { ContenderName } from './contenders.js';
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

const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;

const pct = (ratio: number) => `${(ratio * 100).toFixed(0)}%`;

function ratioTo(results: Results, contender: ContenderName, key: string) {
  const mine = summarize(results, contender, key)?.median;
  const nginx = summarize(results, 'nginx', key)?.median;
  return mine === undefined || nginx === undefined
    ? undefined
    : { mine, nginx, ratio: mine / nginx };
}

// The floors, for the adapter and for serve, medians against medians of the same run.
export function checkFloors(results: Results): FloorCheck[] {
  const checks: FloorCheck[] = [];
  const proxies = (['adapter', 'serve'] as const).filter((name) =>
    results.contenders.includes(name),
  );
  for (const contender of proxies) {
    const rps = ratioTo(results, contender, 'rps32');
    checks.push({
      floor: "requests/s at 32 connections ≥ 35% of nginx's",
      contender,
      figure: rps ? `${pct(rps.ratio)} (${rps.mine.toFixed(0)} vs ${rps.nginx.toFixed(0)})` : 'n/a',
      met: rps && rps.ratio >= 0.35,
    });
    const p50 = ratioTo(results, contender, 'p50_1');
    checks.push({
      floor: "p50 latency at 1 connection ≤ 2× nginx's",
      contender,
      figure: p50
        ? `${p50.ratio.toFixed(2)}× (${p50.mine.toFixed(3)} vs ${p50.nginx.toFixed(3)} ms)`
        : 'n/a',
      met: p50 && p50.ratio <= 2,
    });
    const download = ratioTo(results, contender, 'download');
    checks.push({
      floor: "download throughput ≥ nginx's",
      contender,
      figure: download
        ? `${pct(download.ratio)} (${download.mine.toFixed(0)} vs ${download.nginx.toFixed(0)} MB/s)`
        : 'n/a',
      met: download && download.ratio >= 1,
    });
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
