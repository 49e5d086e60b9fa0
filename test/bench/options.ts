import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ContenderName } from './contenders.js';
import { CONTENDERS } from './contenders.js';
import { IDLE_MS } from './measure.js';
import { PAIRED_PASSES } from './paired.js';
import type { Settings } from './results.js';

export interface BenchOptions {
  mode: 'full' | 'quick';
  settings: Settings;
  only: ContenderName[];
  /** Where benchmarks.json, .md and .svg go. */
  outDir: string;
  /** Only regenerate the .md and .svg from the .json in outDir. */
  reportOnly: boolean;
  /** Measure the Slurm path too (as root, with Slurm installed). */
  slurm: boolean;
  help: boolean;
}

export const USAGE = `npm run bench -- [options]

  --quick          shorter runs (2 s, a 256 MiB download), still 3 rounds; written to
                   $TMPDIR/rsession-proxy-bench/ rather than docs/
  --repeats N      rounds, each contender once per round (default 3, at least 3 for the docs)
  --seconds S      length of each wrk and WebSocket echo run (default 5)
  --paired-passes N
                   back-to-back passes per round of plain http-proxy, the adapter and
                   serve, which the request floors come from (default ${PAIRED_PASSES})
  --only a,b       contenders among ${CONTENDERS.join(', ')}
  --out DIR        where benchmarks.json/.md/.svg go (default docs/)
  --report         only regenerate benchmarks.md and .svg from DIR/benchmarks.json
  --no-slurm       leave out the Slurm path (it needs root and Slurm; about two minutes)
`;

const FULL: Settings = {
  repeats: 3,
  seconds: 5,
  downloadBytes: 2 ** 30,
  warmupDownloadBytes: 2 ** 27,
  idleSockets: 1000,
  idleMs: IDLE_MS,
  coldStarts: 5,
  pairedPasses: PAIRED_PASSES,
  passOrder: 'fresh-processes',
};
const QUICK: Settings = {
  ...FULL,
  seconds: 2,
  downloadBytes: 2 ** 28,
  warmupDownloadBytes: 2 ** 25,
  coldStarts: 3,
};

function positiveInteger(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    throw new TypeError(`Expected \`--${name}\` to be a positive integer, got \`${value}\``);
  }
  return number;
}

export function parseOptions(argv: readonly string[], root: string): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean' },
      repeats: { type: 'string' },
      seconds: { type: 'string' },
      'paired-passes': { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string' },
      report: { type: 'boolean' },
      'no-slurm': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const mode = values.quick === true ? 'quick' : 'full';
  const base = mode === 'quick' ? QUICK : FULL;
  const only = (values.only ?? CONTENDERS.join(',')).split(',').map((name) => name.trim());
  for (const name of only) {
    if (!(CONTENDERS as readonly string[]).includes(name)) {
      throw new TypeError(`Expected \`--only\` to list ${CONTENDERS.join(', ')}, got \`${name}\``);
    }
  }
  return {
    mode,
    settings: {
      ...base,
      repeats: positiveInteger(values.repeats, 'repeats', base.repeats),
      seconds: positiveInteger(values.seconds, 'seconds', base.seconds),
      pairedPasses: positiveInteger(values['paired-passes'], 'paired-passes', PAIRED_PASSES),
    },
    only: only as ContenderName[],
    outDir:
      values.out ??
      (mode === 'quick' ? join(tmpdir(), 'rsession-proxy-bench') : join(root, 'docs')),
    reportOnly: values.report === true,
    slurm: values['no-slurm'] !== true,
    help: values.help === true,
  };
}
