import type { ContenderName } from './contenders.js';
import type { PairedSample } from './results.js';
import { spread, type Spread } from './stats.js';

/** The figures a back-to-back pass gives, under the keys METRICS uses for them. */
export const PASS_FIGURES = {
  rps32: (sample: PairedSample) => sample.http32.rps,
  p50_1: (sample: PairedSample) => sample.http1.p50Ms,
  p99_1: (sample: PairedSample) => sample.http1.p99Ms,
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
