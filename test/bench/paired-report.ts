// The back-to-back section of docs/benchmarks.md: the passes the request floors come from.
import { CONTENDER_LABELS, type ContenderName } from './contenders.js';
import { cell, table } from './markdown.js';
import { PAIRED_CONTENDERS } from './paired.js';
import { getPassRatios, summarizePasses, type PassFigure } from './pass-ratios.js';
import { getMetric, type Results } from './results.js';
import type { Spread } from './stats.js';
import { describeSteal } from './steal-time.js';

const FIGURES: readonly PassFigure[] = ['rps32', 'p50_1', 'p99_1', 'cpu32'];

const RATIO_HEADERS: Record<PassFigure, string> = {
  rps32: "req/s at 32, of plain http-proxy's",
  p50_1: "p50 at 1, × plain http-proxy's",
  p99_1: "p99 at 1, × plain http-proxy's",
  cpu32: "CPU per request at 32, × plain http-proxy's",
};

// "plain http-proxy, the adapter and serve"
function listNames(names: readonly ContenderName[]): string {
  const labels = names.map((name) => (name === 'adapter' ? 'the adapter' : CONTENDER_LABELS[name]));
  return labels.length < 2
    ? labels.join('')
    : `${labels.slice(0, -1).join(', ')} and ${labels.at(-1) ?? ''}`;
}

// Throughput as a share of the reference's, latency as a multiple of it: as the floors read.
function ratioCell(ratios: Spread | undefined, key: PassFigure): string {
  if (ratios === undefined) return 'n/a';
  const show = (ratio: number) =>
    key === 'rps32' ? `${(ratio * 100).toFixed(1)}%` : `${ratio.toFixed(2)}×`;
  return `**${show(ratios.median)}** (${show(ratios.min)}–${show(ratios.max)})`;
}

// "## Back-to-back passes": each contender's figures over the passes and its ratios to plain
// http-proxy's within them; nothing for a run from before there were passes.
export function renderPaired(results: Results): string {
  const samples = results.paired ?? [];
  if (samples.length === 0) return '';
  const names = PAIRED_CONTENDERS.filter((name) =>
    samples.some((sample) => sample.contender === name),
  );
  const passes = new Set(samples.map((sample) => `${sample.round}/${sample.pass}`)).size;
  const rows = names.map((name) => [
    CONTENDER_LABELS[name],
    ...FIGURES.map((key) => cell(summarizePasses(samples, name, key), getMetric(key).digits)),
    ...FIGURES.map((key) =>
      name === 'httpProxy' ? '—' : ratioCell(getPassRatios(samples, name, 'httpProxy', key), key),
    ),
  ]);
  const header = [
    '',
    ...FIGURES.map((key) => `${getMetric(key).label} (${getMetric(key).unit})`),
    ...FIGURES.map((key) => `${RATIO_HEADERS[key]}, per pass`),
  ];
  const steal = describeSteal(samples.flatMap((s) => [s.http32.stealShare, s.http1.stealShare]));
  return `## Back-to-back passes

The request floors above come from these ${passes} passes. ${describePassMethod(results.settings, listNames(names))}, in an order that rotates from pass
to pass and is reversed every other pass.
A ratio is taken within one pass, between figures measured seconds apart; the table gives the
median of the passes, with the smallest and largest.

${table(header, rows)}

The share of the machine's CPU time the host took away (steal, from \`/proc/stat\`) during each of
these wrk runs: ${steal ?? 'not recorded'}.
`;
}

// How the passes ran, as the run recorded it (runs from before a setting have none).
function describePassMethod(settings: Results['settings'], names: string): string {
  const seconds = `${settings.seconds} s`;
  const warmed = `each warmed up with ${seconds} of wrk`;
  return settings.passOrder === 'fresh-processes'
    ? `Every pass started fresh processes of ${names}, side by side, ${warmed}; then each in turn ran wrk for ${seconds} at 32 connections, and then each in turn at 1, started and run`
    : `In each round, ${names} ran side by side on fresh processes, ${warmed}; then, in each pass, each in turn ran wrk for ${seconds} at 32 connections and then at 1`;
}
