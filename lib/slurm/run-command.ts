import { spawn } from 'node:child_process';
import { RSessionProxyError } from '../errors.js';

export interface SlurmCommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface SlurmCommandOptions {
  env: NodeJS.ProcessEnv;
  /** Written to the command's stdin (sbatch reads its script there). */
  input?: string | undefined;
  /** Killed after this many ms; default 60 000 (slurmctld can be slow to answer when busy). */
  timeout?: number | undefined;
}

/** What each client tool is for, for the error when it is missing. */
const PURPOSE: Record<string, string> = {
  sbatch: 'submit the job',
  squeue: 'follow the job',
  scancel: 'cancel the job',
  srun: 'reach RStudio in the job',
};

// Runs one of Slurm's client tools to its end and resolves with what it printed, whatever its
// exit code; only a tool that cannot be run (not installed) or hangs is an error.
export function runSlurmCommand(
  command: string,
  args: readonly string[],
  options: SlurmCommandOptions,
): Promise<SlurmCommandResult> {
  const timeout = options.timeout ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    timer.unref();
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new RSessionProxyError(
          'ESLURM',
          `${command} could not be run, so rsession-proxy cannot ${PURPOSE[command] ?? 'talk to Slurm'}: ${error.message}.`,
          {
            cause: error,
            hint: "Run this on a login node of the Slurm cluster (Slurm's client tools on PATH).",
          },
        ),
      );
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL' && code === null) {
        reject(
          new RSessionProxyError(
            'ESLURM',
            `${command} did not answer within ${Math.round(timeout / 1000)} s (is slurmctld reachable?).`,
          ),
        );
        return;
      }
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

// The last line a tool printed on stderr, for error messages ("sbatch: error: Invalid --time
// specification").
export function getLastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return lines.at(-1) ?? '';
}
