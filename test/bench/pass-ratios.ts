import type { ContenderName } from './contenders.js';
import { summarize, type PairedSample, type Results } from './results.js';
import { spread, type Spread } from './stats.js';

/** The figures a back-to-back pass gives, under the keys METRICS uses for them. */
export const PASS_FIGURES = {
  rps32: (sample: PairedSample) => sample.http32.rps,
  p50_1: (sample: PairedSample) => sample.http1.p50Ms,
  p99_1: (sample: PairedSample) => sample.http1.p99Ms,
  cpu32: (sample: PairedSample) => sample.http32.cpuUsPerRequest ?? Number.NaN,
} as const;

export type PassFigure = keyof typeof PASS_FIGURES;

export function isPassFigure(key: string): key is PassFigure {
  return Object.hasOwn(PASS_FIGURES, key);
}

const passKey = (sample: PairedSample) => `${sample.round}/${sample.pass}`;

const finite = (values: number[]) => values.filter((value) => Number.isFinite(value));

// One figure of one contender over every pass; undefined when it had none.
export function summarizePasses(
  samples: readonly PairedSample[],
  contender: ContenderName,
  key: PassFigure,
): Spread | undefined {
  const values = finite(
    samples.filter((sample) => sample.contender === contender).map(PASS_FIGURES[key]),
  );
  return values.length === 0 ? undefined : spread(values);
}

// mine / reference, taken within each pass where both ran: the two were measured seconds apart,
// so the machine's drift from one minute to the next cancels out of each ratio.
export function getPassRatios(
  samples: readonly PairedSample[],
  contender: ContenderName,
  reference: ContenderName,
  key: PassFigure,
): Spread | undefined {
  const figure = PASS_FIGURES[key];
  const theirs = new Map(
    samples
      .filter((sample) => sample.contender === reference)
      .map((sample) => [passKey(sample), figure(sample)]),
  );
  const ratios = finite(
    samples
      .filter((sample) => sample.contender === contender && theirs.has(passKey(sample)))
      .map((sample) => figure(sample) / (theirs.get(passKey(sample)) ?? Number.NaN)),
  );
  return ratios.length === 0 ? undefined : spread(ratios);
}

// A figure as the report states it: for a contender of the passes, the median over its passes
// (measured beside plain http-proxy, which the request floors compare with); for any other, or
// for a run without passes, the median of the rounds.
export function getReportedMedian(
  results: Results,
  contender: ContenderName,
  key: string,
): number | undefined {
  const fromPasses = isPassFigure(key)
    ? summarizePasses(results.paired ?? [], contender, key)?.median
    : undefined;
  return fromPasses ?? summarize(results, contender, key)?.median;
}
