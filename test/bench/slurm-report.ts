// The Slurm section of docs/benchmarks.md and its floors (issue #15), from the results alone.
import { formatValue } from './chart.js';
import { cell, table } from './markdown.js';
import type { Results } from './results.js';
import type { SlurmResults, SlurmRound } from './slurm.js';
import { spread, type Spread } from './stats.js';

/** One of #15's floors, checked against this run. */
export interface SlurmFloor {
  floor: string;
  figure: string;
  met: boolean | undefined;
}

function over(
  slurm: SlurmResults,
  get: (round: SlurmRound) => number | undefined,
): Spread | undefined {
  const values = slurm.rounds
    .map(get)
    .filter((value): value is number => value !== undefined && Number.isFinite(value));
  return values.length === 0 ? undefined : spread(values);
}

// The floors: a warm request's p50 within 3× serve's of the same round, no new step for a
// warm page load, downloads at 100 MB/s; the last shown against bare srun's ceiling.
export function checkSlurmFloors(slurm: SlurmResults): SlurmFloor[] {
  const p50 = over(slurm, (r) => r.http1?.p50Ms);
  const serveP50 = over(slurm, (r) => r.serveHttp1?.p50Ms);
  const ratio = p50 && serveP50 ? p50.median / serveP50.median : undefined;
  const steps = over(slurm, (r) => r.warmPageSteps);
  const download = over(slurm, (r) => r.downloadFront);
  const srun = over(slurm, (r) => r.downloadSrun);
  return [
    {
      floor: "p50 of a request on a warm connection ≤ 3× serve's",
      figure:
        ratio === undefined || !p50 || !serveP50
          ? 'n/a (no wrk)'
          : `${ratio.toFixed(1)}× (${p50.median.toFixed(3)} vs ${serveP50.median.toFixed(3)} ms)`,
      met: ratio === undefined ? undefined : ratio <= 3,
    },
    {
      floor: 'a warm page load opens no new step',
      figure: steps ? `${steps.max} new steps at most, in ${slurm.rounds.length} rounds` : 'n/a',
      met: steps ? steps.max === 0 : undefined,
    },
    {
      floor: 'downloads through the relay ≥ 100 MB/s',
      figure: download
        ? `${download.median.toFixed(1)} MB/s; bare srun in the same rounds: ${srun?.median.toFixed(1) ?? 'n/a'} MB/s`
        : 'n/a',
      met: download ? download.median >= 100 : undefined,
    },
  ];
}

// "## Through a Slurm job": the start and its parts, a new step's first byte, requests and
// downloads against serve and against bare srun, and the floors.
export function renderSlurm(results: Results): string {
  const slurm = results.slurm;
  if (!slurm) return '';
  const rows: [string, Spread | undefined, number][] = [
    ['the command to the first page served (ms)', over(slurm, (r) => r.startup.totalMs), 0],
    [
      '… of which starting, listening, and sbatch answering (ms)',
      over(slurm, (r) => r.startup.submittedMs),
      0,
    ],
    ['… the queue, submitted to RUNNING (ms)', over(slurm, (r) => r.startup.queueMs), 0],
    [
      '… the job starting: RUNNING to exec in the job (ms)',
      over(slurm, (r) => r.startup.jobStartMs),
      0,
    ],
    ['… rserver starting in the job (ms)', over(slurm, (r) => r.startup.rserverStartMs), 0],
    ['… the check through a step, and the page (ms)', over(slurm, (r) => r.startup.probeMs), 0],
    [
      'first byte of a new backend connection: one step launch (ms)',
      over(slurm, (r) => spread(r.newStepFirstByteMs).median),
      0,
    ],
    ['requests/s, 1 connection, through the job (req/s)', over(slurm, (r) => r.http1?.rps), 0],
    ['p50 latency, 1 connection, through the job (ms)', over(slurm, (r) => r.http1?.p50Ms), 3],
    [
      'p50 latency, 1 connection, serve on this host (ms)',
      over(slurm, (r) => r.serveHttp1?.p50Ms),
      3,
    ],
    ['requests/s, 8 connections, through the job (req/s)', over(slurm, (r) => r.http8?.rps), 0],
    ['new steps for a warm page load', over(slurm, (r) => r.warmPageSteps), 0],
    ['download through the login side (MB/s)', over(slurm, (r) => r.downloadFront), 1],
    ['download through srun and the relay alone (MB/s)', over(slurm, (r) => r.downloadRelay), 1],
    [
      'download through bare srun: `head -c` in a step (MB/s)',
      over(slurm, (r) => r.downloadSrun),
      1,
    ],
    [
      'Ctrl-C to the exit: job cancelled, Slurm reports it gone (ms)',
      over(slurm, (r) => r.stopMs),
      0,
    ],
  ];
  const floors = checkSlurmFloors(slurm).map((check) => [
    check.floor,
    check.figure,
    check.met === undefined ? 'n/a' : check.met ? 'met' : '**missed**',
  ]);
  return `## Through a Slurm job

\`rsession-proxy slurm\` on a one-node Slurm 22.05 cluster on this host (started in
${slurm.clusterStartMs} ms), as a throw-away user, with the bench backend as rserver in the job; every
connection from the login side is a job step (\`srun --overlap\`) running \`rsession-proxy relay\`.
${slurm.rounds.length} rounds, each a fresh command; downloads of ${formatValue(slurm.downloadBytes / 2 ** 20, 0)} MiB. The
login side and "the compute node" share this machine's two cores.

${table(
  ['', 'median (min–max)'],
  rows.map(([label, figure, digits]) => [label, cell(figure, digits)]),
)}

${table(['floor', 'this run', ''], floors)}

srun carries a step's output in messages of at most 1 KiB (Slurm's \`SLURM_IO_MAX_MSG_LEN\`),
each read, sent and written on its own by slurmstepd and srun: bare srun, with nothing of
ours on either side, is the ceiling of srun's stdio, below the download floor of 100 MB/s on
this machine. "Through srun and the relay alone" is that path (the relay without chunk files).
Through the login side, a download's bulk bytes pass through chunk files in the job's private
directory on the shared home once srun falls behind (docs/decisions.md), so that row can pass
srun's ceiling.
`;
}
