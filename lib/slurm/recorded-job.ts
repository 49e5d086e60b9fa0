import { lstat } from 'node:fs/promises';
import { isErrnoException } from '../errno.js';
import { assertPrivateDir, getUid } from '../private-dir.js';
import { validateInstanceName } from '../instance/name.js';
import { cancelJob } from './cancel.js';
import { getJobDir, readJobRecord, removeJobRecord } from './job-dir.js';
import { hasEnded, readJob, type JobInfo } from './job-info.js';
import { getSlurmClientEnv } from './slurm-env.js';

export interface RecordedJobOptions {
  /** The login side's instance; default `default`. */
  instance?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

// The job an instance's login side recorded, as Slurm sees it now; undefined when there is no
// record, or Slurm no longer runs the job, or it is not provably this user's. Only a record in
// a private directory is believed.
export async function findRecordedJob(
  options: RecordedJobOptions = {},
): Promise<JobInfo | undefined> {
  const jobDir = getJobDir(validateInstanceName(options.instance ?? 'default'));
  try {
    await lstat(jobDir.dir);
  } catch (error) {
    if (isErrnoException(error, 'ENOENT')) return undefined;
    throw error;
  }
  await assertPrivateDir(jobDir.dir);
  const record = await readJobRecord(jobDir);
  if (!record) return undefined;
  const job = await readJob(record.jobId, getSlurmClientEnv(options.env ?? process.env));
  if (!job || hasEnded(job.state) || job.uid !== getUid() || job.name !== record.name) {
    await removeJobRecord(jobDir);
    return undefined;
  }
  return job;
}

// Cancels the job a killed login side left running (a live one cancels its own when stopped),
// waits until Slurm reports it gone and forgets it; resolves with the job, or undefined when
// there was none.
export async function cancelRecordedJob(
  options: RecordedJobOptions = {},
): Promise<JobInfo | undefined> {
  const job = await findRecordedJob(options);
  if (!job) return undefined;
  await cancelJob(job.id, { env: getSlurmClientEnv(options.env ?? process.env) });
  await removeJobRecord(getJobDir(validateInstanceName(options.instance ?? 'default')));
  return job;
}
