import { RSessionProxyError } from '../errors.js';
import { getLastLine, runSlurmCommand } from './run-command.js';

/** One job as `squeue -t all` shows it (ended jobs too, for slurmctld's MinJobAge). */
export interface JobInfo {
  id: string;
  /** PENDING, RUNNING, COMPLETING, CANCELLED, TIMEOUT, FAILED… */
  state: string;
  /** Slurm's reason: Priority, Resources, TimeLimit, NonZeroExitCode… ('None' when there is none). */
  reason: string;
  /** The node (or node list) the job runs on; undefined while it has none. */
  nodes: string | undefined;
  /** undefined without a time limit, or while it is not known. */
  timeLeftSeconds: number | undefined;
  submittedAt: Date | undefined;
  /** When it started (while pending: Slurm's estimate, when it has one). */
  startedAt: Date | undefined;
  /** When it ended (while running: when its time limit ends it). */
  endsAt: Date | undefined;
  uid: number;
  /** The node that runs the batch script (and so rserver), once it runs. */
  batchHost: string | undefined;
  name: string;
}

/** The squeue fields, in the order parseJobLine reads them: the name last, as it may hold `|`. */
export const JOB_FORMAT = '%i|%T|%r|%N|%L|%V|%S|%e|%U|%B|%j';

/** States a job leaves no more: nothing of it runs any longer. */
const ENDED_STATES = new Set([
  'BOOT_FAIL',
  'CANCELLED',
  'COMPLETED',
  'DEADLINE',
  'FAILED',
  'NODE_FAIL',
  'OUT_OF_MEMORY',
  'PREEMPTED',
  'TIMEOUT',
]);

// Whether the job is over, its processes gone (COMPLETING, while they end, is not over yet).
export function hasEnded(state: string): boolean {
  return ENDED_STATES.has(state);
}

// squeue's "no value" spellings.
function presentOrUndefined(text: string | undefined): string | undefined {
  const value = text?.trim() ?? '';
  return ['', 'N/A', 'NONE', 'None', 'Unknown', '(null)', 'n/a'].includes(value)
    ? undefined
    : value;
}

// squeue prints times in the cluster's local time without a zone, as a Date reads them.
function parseTime(text: string | undefined): Date | undefined {
  const value = presentOrUndefined(text);
  if (value === undefined || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(value)) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

// `[days-][hours:]minutes:seconds` (squeue's %L); UNLIMITED, NOT_SET, INVALID: undefined.
export function parseDuration(text: string): number | undefined {
  const match = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$/.exec(text.trim());
  if (!match) return undefined;
  const [, days = '0', hours = '0', minutes = '0', seconds = '0'] = match;
  return ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60 + Number(seconds);
}

// One line of `squeue -o JOB_FORMAT`; undefined when it is not one.
export function parseJobLine(line: string): JobInfo | undefined {
  const parts = line.trim().split('|');
  if (parts.length < 11) return undefined;
  const [
    id = '',
    state = '',
    reason = '',
    nodes,
    timeLeft = '',
    submit,
    start,
    end,
    uid = '',
    host,
  ] = parts;
  if (!/^\d+(_\d+)?$/.test(id) || !/^[A-Z_]+$/.test(state) || !/^\d+$/.test(uid)) {
    return undefined;
  }
  return {
    id,
    state,
    reason: presentOrUndefined(reason) ?? 'None',
    nodes: presentOrUndefined(nodes),
    timeLeftSeconds: parseDuration(timeLeft),
    submittedAt: parseTime(submit),
    startedAt: parseTime(start),
    endsAt: parseTime(end),
    uid: Number(uid),
    batchHost: presentOrUndefined(host),
    name: parts.slice(10).join('|'),
  };
}

// What Slurm knows about a job now; undefined once it has forgotten it (MinJobAge after its end).
export async function readJob(
  jobId: string,
  env: NodeJS.ProcessEnv,
  squeue = 'squeue',
): Promise<JobInfo | undefined> {
  const result = await runSlurmCommand(squeue, ['-h', '-t', 'all', '-j', jobId, '-o', JOB_FORMAT], {
    env,
  });
  if (result.code !== 0) {
    if (/Invalid job id/i.test(result.stderr)) return undefined;
    throw new RSessionProxyError(
      'ESLURM',
      `squeue could not say how job ${jobId} is doing: ${getLastLine(result.stderr) || `exit code ${result.code ?? '?'}`}.`,
    );
  }
  const line = result.stdout.split('\n').find((text) => text.startsWith(`${jobId}|`));
  return line === undefined ? undefined : parseJobLine(line);
}
