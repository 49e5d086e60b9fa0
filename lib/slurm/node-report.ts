import { hostname } from 'node:os';
import { RSessionProxyError, isRSessionProxyError } from '../errors.js';
import { rm } from 'node:fs/promises';
import { assertPrivateDir, ensurePrivateDir } from '../private-dir.js';
import type { Isolation } from '../rserver/isolation.js';
import {
  getJobDirAt,
  getSpillDir,
  writeNodeReport,
  type JobDir,
  type NodeReport,
} from './job-dir.js';

/** What `exec --slurm-job=DIR` does differently inside the job, and how it reports. */
export interface JobSide {
  jobId: string;
  /**
   * The instance on the node: named after the job and ephemeral, so that its private directory
   * (socket, data directory, cookie key) goes when exec stops and nothing piles up.
   */
  instance: { instance: string; ephemeral: true };
  starting(): Promise<void>;
  /** rserver answers on `socketPath`, kept away from other users of the node as `isolation` says. */
  ready(socketPath: string, isolation?: Isolation): Promise<void>;
  failed(error: unknown): Promise<void>;
  /** The private directory where this job's relays put chunk files of downloads. */
  spillDir: string;
  /** Removes it and every chunk file in it: nothing of a download outlives the job. */
  removeSpillDir(): Promise<void>;
}

// Prepares exec for a Slurm job: the job's id from Slurm's environment, the directory the login
// side gave it (which must be private), the reports it writes there, and the job's private
// directory for chunk files.
export async function openJobSide(dir: string, env: NodeJS.ProcessEnv): Promise<JobSide> {
  const jobId = env.SLURM_JOB_ID;
  if (jobId === undefined || !/^\d+$/.test(jobId)) {
    throw new RSessionProxyError(
      'EINVALIDOPTION',
      '--slurm-job is for the batch job `rsession-proxy slurm` submits: SLURM_JOB_ID is not set here.',
    );
  }
  await assertPrivateDir(dir);
  const jobDir: JobDir = getJobDirAt(dir);
  const spillDir = getSpillDir(jobDir, jobId);
  await ensurePrivateDir(spillDir);
  const base = { jobId, node: hostname(), pid: process.pid };
  const write = (report: Omit<NodeReport, 'jobId' | 'node' | 'pid' | 'at'>) =>
    writeNodeReport(jobDir, { ...base, ...report, at: new Date().toISOString() });
  return {
    jobId,
    instance: { instance: `slurm-${jobId}`, ephemeral: true },
    spillDir,
    removeSpillDir: () => rm(spillDir, { recursive: true, force: true }),
    starting: () => write({ state: 'starting' }),
    ready: (socketPath, isolation) =>
      write({
        state: 'ready',
        socket: socketPath,
        isolation: isolation?.description,
        warnings: isolation?.warnings,
      }),
    failed: (error) =>
      write({
        state: 'failed',
        code: isRSessionProxyError(error) ? error.code : undefined,
        message: (error instanceof Error ? error.message : String(error)).split('\n')[0],
        hint: isRSessionProxyError(error) ? error.hint : undefined,
      }),
  };
}
