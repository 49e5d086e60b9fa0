import { spawn } from 'node:child_process';
import { LineTail } from '../rserver/line-tail.js';
import { buildStepPrefix } from './step-connection.js';

export interface JobWatchOptions {
  jobId: string;
  node?: string | undefined;
  env: NodeJS.ProcessEnv;
  srun?: string | undefined;
}

export interface JobWatch {
  /** Ends the step quietly (the end of its stdin ends `cat`); resolves once srun is gone. */
  stop(): Promise<void>;
}

// One idle step in the job, `cat` on the node with nothing to read: Slurm ends it the moment
// the job ends (time limit, scancel, node failure), so srun's exit tells the login side at once,
// with no polling of slurmctld. `onEnd` gets srun's last lines; it is not called after stop().
export function watchJob(
  options: JobWatchOptions,
  onEnd: (stderr: readonly string[]) => void,
): JobWatch {
  const child = spawn(options.srun ?? 'srun', [...buildStepPrefix(options), 'cat'], {
    env: options.env,
    // Its own process group, as every step of ours: a Ctrl-C is the login side's to handle.
    detached: true,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const tail = new LineTail(10);
  let stopped = false;
  child.stdin.on('error', () => undefined);
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    for (const line of text.split('\n')) if (line.trim() !== '') tail.push(line);
  });
  const closed = new Promise<void>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve();
      if (!stopped) onEnd(tail.lines);
    };
    child.once('close', finish);
    // srun could not be started at all.
    child.on('error', (error) => {
      if (child.pid !== undefined) return;
      tail.push(`srun could not be started: ${error.message}`);
      finish();
    });
  });
  // Watching is never the reason the process lives.
  child.unref();
  for (const stream of [child.stdin, child.stderr])
    (stream as unknown as { unref(): void }).unref();
  return {
    async stop() {
      if (stopped) return closed;
      stopped = true;
      if (child.pid === undefined) return;
      child.ref();
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGTERM'), 2000);
      await closed;
      clearTimeout(timer);
    },
  };
}
