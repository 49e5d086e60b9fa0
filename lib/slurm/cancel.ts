import { setTimeout as delay } from 'node:timers/promises';
import { RSessionProxyError } from '../errors.js';
import { hasEnded, readJob, type JobInfo } from './job-info.js';
import { getLastLine, runSlurmCommand } from './run-command.js';

export interface CancelOptions {
  env: NodeJS.ProcessEnv;
  /** How long to wait for Slurm to report the job gone, in ms; default 120 000. */
  timeout?: number | undefined;
  scancel?: string | undefined;
  squeue?: string | undefined;
}

// Polls until Slurm says the job has ended and nothing of it runs any more (or has forgotten
// it); resolves with what it said last.
export async function waitForJobEnd(
  jobId: string,
  options: CancelOptions,
): Promise<JobInfo | undefined> {
  const deadline = Date.now() + (options.timeout ?? 120_000);
  let interval = 100;
  for (;;) {
    const job = await readJob(jobId, options.env, options.squeue);
    if (job === undefined || hasEnded(job.state)) return job;
    if (Date.now() > deadline) {
      throw new RSessionProxyError(
        'ESLURM',
        `Slurm still reports job ${jobId} as ${job.state} ${Math.round((options.timeout ?? 120_000) / 1000)} s after it was cancelled.`,
        { hint: `Check it with \`squeue -j ${jobId}\`; \`scancel ${jobId}\` again if it lingers.` },
      );
    }
    // Not unref()ed: a login side shutting down lives for this wait.
    await delay(interval);
    interval = Math.min(interval * 2, 1000);
  }
}

// scancel, then the wait: Slurm sends SIGTERM to the job's processes at once and SIGKILL after
// its KillWait, and reports the job CANCELLED once they have gone.
export async function cancelJob(
  jobId: string,
  options: CancelOptions,
): Promise<JobInfo | undefined> {
  const result = await runSlurmCommand(options.scancel ?? 'scancel', [jobId], {
    env: options.env,
  });
  if (result.code !== 0 && !/Invalid job id|already completing or completed/i.test(result.stderr)) {
    throw new RSessionProxyError(
      'ESLURM',
      `scancel ${jobId} failed: ${getLastLine(result.stderr) || `exit code ${result.code ?? '?'}`}.`,
    );
  }
  return waitForJobEnd(jobId, options);
}
