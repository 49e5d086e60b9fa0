import { hostname } from 'node:os';
import { RSessionProxyError } from '../errors.js';
import { buildSbatchArgs, getJobName } from './batch-script.js';
import {
  clearNodeReport,
  pruneJobLogs,
  writeJobRecord,
  type JobDir,
  type JobRecord,
} from './job-dir.js';
import { readJob } from './job-info.js';
import { getLastLine, runSlurmCommand } from './run-command.js';

export interface SubmitInput {
  instance: string;
  jobDir: JobDir;
  script: string;
  /** The user's sbatch options, unchanged. */
  sbatchArgs: readonly string[];
  env: NodeJS.ProcessEnv;
  sbatch?: string | undefined;
  squeue?: string | undefined;
}

// `sbatch --parsable` prints `<id>` or `<id>;<cluster>`.
export function parseSubmitted(stdout: string): string | undefined {
  const id = stdout.trim().split('\n').at(-1)?.split(';')[0]?.trim() ?? '';
  return /^\d+$/.test(id) ? id : undefined;
}

// Submits the batch job (its script on sbatch's stdin) and records it, so that a login side
// started again after a crash attaches to it instead of submitting another.
export async function submitJob(input: SubmitInput): Promise<JobRecord> {
  const { jobDir, env } = input;
  const args = buildSbatchArgs({
    jobName: getJobName(input.instance),
    output: jobDir.outputPattern,
    userArgs: input.sbatchArgs,
  });
  await clearNodeReport(jobDir);
  await pruneJobLogs(jobDir);
  const result = await runSlurmCommand(input.sbatch ?? 'sbatch', args, {
    env,
    input: input.script,
  });
  const jobId = result.code === 0 ? parseSubmitted(result.stdout) : undefined;
  if (jobId === undefined) {
    const said = getLastLine(result.stderr) || getLastLine(result.stdout);
    throw new RSessionProxyError(
      'ESLURM',
      `sbatch refused the job${said ? `: ${said}` : ` (exit code ${result.code ?? '?'})`}.`,
      { hint: 'Check the sbatch options after `--` (sbatch --help lists them).' },
    );
  }
  const job = await readJob(jobId, env, input.squeue).catch(() => undefined);
  const record: JobRecord = {
    jobId,
    name: job?.name ?? getJobName(input.instance),
    submittedAt: new Date().toISOString(),
    host: hostname(),
  };
  await writeJobRecord(jobDir, record);
  return record;
}
