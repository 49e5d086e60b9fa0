import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RSessionProxyError } from '../errors.js';
import { isErrnoException } from '../errno.js';
import { ensurePrivateDir } from '../private-dir.js';
import {
  ensureInstanceStateDir,
  getInstanceStateDir,
  getStateDirs,
  type StateDirs,
} from '../instance/state-dir.js';
import { hasControlCharacters } from '../validate.js';

/**
 * Where the login side and the job speak to each other: a private directory in the user's
 * persistent state directory, which HPC sites share between login and compute nodes (the home
 * directory). Nothing another user can read: not the job's name, arguments or script, which
 * `scontrol show job` shows to everyone.
 */
export interface JobDir {
  /** `<state dir>/instances/<instance>/slurm`, mode 0700. */
  dir: string;
  /** The login side's record of the job that serves the instance, to attach to it again. */
  recordFile: string;
  /** What the job says: its node, rserver's socket there, ready or why it failed. */
  reportFile: string;
  /** sbatch's --output: the job's own log, one file per job. */
  outputPattern: string;
}

/** How many jobs' logs are kept (the running one and the ones before it). */
const KEPT_LOGS = 3;

export function getJobDir(instance: string, dirs: StateDirs = getStateDirs()): JobDir {
  return getJobDirAt(join(getInstanceStateDir(instance, dirs), 'slurm'));
}

// The same files, for the job, which is told the directory.
export function getJobDirAt(dir: string): JobDir {
  return {
    dir,
    recordFile: join(dir, 'job.json'),
    reportFile: join(dir, 'node.json'),
    outputPattern: join(dir, 'job-%j.log'),
  };
}

// Where a job's relays put chunk files of downloads (relay-lanes.ts), one directory per job so
// that its name is fresh to the login side (no cached "no such directory" on NFS). The job's
// exec makes it private and removes it when the job ends.
export function getSpillDir(jobDir: JobDir, jobId: string): string {
  return join(jobDir.dir, `spill-${jobId}`);
}

// Removes the chunk directories of jobs other than `keep`: what a job killed before its exec
// could clean up left behind.
export async function removeSpillDirs(jobDir: JobDir, keep?: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(jobDir.dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!/^spill-\d+(?:_\d+)?$/.test(name) || name === `spill-${keep ?? ''}`) continue;
    await rm(join(jobDir.dir, name), { recursive: true, force: true });
  }
}

export function getJobLogFile(jobDir: JobDir, jobId: string): string {
  return jobDir.outputPattern.replace('%j', jobId);
}

// Creates the directory (and the state directories above it) private, or checks it is; a
// directory this user cannot even enter is somebody else's, and said so.
export async function ensureJobDir(instance: string, dirs?: StateDirs): Promise<JobDir> {
  const jobDir = getJobDir(instance, dirs);
  try {
    await ensureInstanceStateDir(instance, dirs);
    await ensurePrivateDir(jobDir.dir);
  } catch (error) {
    if (isErrnoException(error, 'EACCES') || isErrnoException(error, 'EPERM')) {
      throw new RSessionProxyError(
        'ENOTPRIVATE',
        `Cannot use ${jobDir.dir} for the Slurm job's state: ${error.message}. It must be yours and private.`,
        { path: jobDir.dir, cause: error, hint: 'Check XDG_DATA_HOME and HOME.' },
      );
    }
    throw error;
  }
  return jobDir;
}

/** The login side's record of the job serving an instance. */
export interface JobRecord {
  jobId: string;
  /** The job's name as Slurm has it (the user's --job-name wins over ours). */
  name: string;
  submittedAt: string;
  /** The login node that submitted it. */
  host: string;
}

const isText = (value: unknown, max = 4096): value is string =>
  typeof value === 'string' && value.length <= max && !hasControlCharacters(value);
const JOB_ID = /^\d+(_\d+)?$/;

export async function writeJobRecord(jobDir: JobDir, record: JobRecord): Promise<void> {
  const temporary = `${jobDir.recordFile}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  await rename(temporary, jobDir.recordFile);
}

export async function readJobRecord(jobDir: JobDir): Promise<JobRecord | undefined> {
  const value = await readJson(jobDir.recordFile);
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (!isText(record.jobId) || !JOB_ID.test(record.jobId)) return undefined;
  if (!isText(record.name) || !isText(record.submittedAt) || !isText(record.host)) return undefined;
  return record as unknown as JobRecord;
}

export async function removeJobRecord(jobDir: JobDir): Promise<void> {
  await rm(jobDir.recordFile, { force: true });
}

/** What the job writes about itself (lib/slurm/node-report.ts). */
export interface NodeReport {
  jobId: string;
  /** The compute node's host name. */
  node: string;
  /** exec's pid there. */
  pid: number;
  state: 'starting' | 'ready' | 'failed';
  /** rserver's socket on the node, once chosen. */
  socket?: string | undefined;
  /** What keeps other users of the node away from rserver, once ready (its one line). */
  isolation?: string | undefined;
  /** What the user must be told about it (a password alone, no network for R). */
  warnings?: readonly string[] | undefined;
  /** Why the start failed: the error's code, message and hint, as exec reported them. */
  code?: string | undefined;
  message?: string | undefined;
  hint?: string | undefined;
  at: string;
}

const REPORT_STATES = new Set(['starting', 'ready', 'failed']);

// A report as the job wrote it; undefined while there is none, or it is half written, or it is
// not one. The socket path is handed to srun, so it must be a plain absolute path.
export function parseNodeReport(value: unknown): NodeReport | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const report = value as Record<string, unknown>;
  if (!isText(report.jobId) || !JOB_ID.test(report.jobId)) return undefined;
  if (!isText(report.node, 255) || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(report.node)) {
    return undefined;
  }
  if (typeof report.pid !== 'number' || !Number.isSafeInteger(report.pid)) return undefined;
  if (typeof report.state !== 'string' || !REPORT_STATES.has(report.state)) return undefined;
  if (report.socket !== undefined && !(isText(report.socket) && report.socket.startsWith('/'))) {
    return undefined;
  }
  for (const field of ['code', 'message', 'hint', 'isolation'] as const) {
    if (report[field] !== undefined && !isText(report[field], 16_384)) return undefined;
  }
  const { warnings } = report;
  if (
    warnings !== undefined &&
    !(Array.isArray(warnings) && warnings.length <= 8 && warnings.every((w) => isText(w, 16_384)))
  ) {
    return undefined;
  }
  if (report.state === 'ready' && report.socket === undefined) return undefined;
  return report as unknown as NodeReport;
}

export async function readNodeReport(jobDir: JobDir): Promise<NodeReport | undefined> {
  return parseNodeReport(await readJson(jobDir.reportFile));
}

// The report is written in place (truncate, one write) rather than renamed over: on a home
// directory shared by NFS, another host sees a file that existed when it last looked at once,
// but may not see a new one (or a new inode under the old name) for up to a minute. The login
// side creates it empty before it submits, and the reader tolerates a half-written one.
export async function writeNodeReport(jobDir: JobDir, report: NodeReport): Promise<void> {
  await writeFile(jobDir.reportFile, `${JSON.stringify(report)}\n`, { mode: 0o600 });
}

export async function clearNodeReport(jobDir: JobDir): Promise<void> {
  await writeFile(jobDir.reportFile, '', { mode: 0o600 });
}

// The last lines of a job's log, for a job that ended before it could report why.
export async function readJobLogTail(jobDir: JobDir, jobId: string, lines = 5): Promise<string[]> {
  try {
    const text = await readFile(getJobLogFile(jobDir, jobId), 'utf8');
    return text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !hasControlCharacters(line))
      .slice(-lines);
  } catch {
    return [];
  }
}

// Removes the logs of all but the last few jobs: one per start would pile up in a home directory.
export async function pruneJobLogs(jobDir: JobDir): Promise<void> {
  let names: string[];
  try {
    names = await readdir(jobDir.dir);
  } catch {
    return;
  }
  const logs = names
    .map((name) => ({ name, id: /^job-(\d+)(?:_\d+)?\.log$/.exec(name)?.[1] }))
    .filter((entry): entry is { name: string; id: string } => entry.id !== undefined)
    .sort((a, b) => Number(b.id) - Number(a.id));
  for (const { name } of logs.slice(KEPT_LOGS)) {
    await rm(join(jobDir.dir, name), { force: true });
  }
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}
