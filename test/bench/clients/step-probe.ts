// What a job step carries, measured as the job's user, without the login side's front:
//   node step-probe.js first-byte <jobId> <socket> <count>   new steps, GET / on each
//   node step-probe.js srun <jobId> <bytes>                  bare srun: head -c from /dev/zero
//   node step-probe.js relay <jobId> <socket> <bytes>        srun running the relay, a download
// Prints one JSON line. The rates count from the first byte to the last, so that srun's own
// start is not in them.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openStepConnection } from '../../../lib/slurm/step-connection.js';

const CLI = fileURLToPath(new URL('../../../bin/rsession-proxy.js', import.meta.url));
const COMMAND = [process.execPath, CLI];
const [mode = '', jobId = '', ...rest] = process.argv.slice(2);

// One new step, GET / on it: the time to the first byte of the answer.
function firstByte(socketPath: string): Promise<number> {
  const started = performance.now();
  const step = openStepConnection({ jobId, socketPath, command: COMMAND });
  return new Promise((resolve, reject) => {
    let first: number | undefined;
    step.on('data', () => (first ??= performance.now() - started));
    step.on('error', reject);
    step.on('end', () => (first === undefined ? reject(new Error('no answer')) : resolve(first)));
    step.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  });
}

// Reads `bytes` from an srun's stdout and times them; srun is then ended.
function timeStream(args: string[], bytes: number, input?: string): Promise<number> {
  const child = spawn('srun', args, { stdio: ['pipe', 'pipe', 'inherit'] });
  if (input !== undefined) child.stdin.write(input);
  return new Promise((resolve, reject) => {
    let seen = 0;
    let first: number | undefined;
    child.once('error', reject);
    child.stdout.on('data', (chunk: Buffer) => {
      first ??= performance.now();
      seen += chunk.length;
      if (seen < bytes) return;
      const seconds = (performance.now() - first) / 1000;
      child.stdin.destroy();
      child.kill('SIGTERM');
      resolve(bytes / 1e6 / seconds);
    });
    child.once('close', () => reject(new Error(`srun ended after ${seen} of ${bytes} bytes`)));
  });
}

const step = [`--jobid=${jobId}`, '--overlap', '--unbuffered', '--nodes=1', '--ntasks=1'];
let result: unknown;
if (mode === 'first-byte') {
  const [socketPath = '', count = '5'] = rest;
  const samples: number[] = [];
  for (let i = 0; i < Number(count); i++) samples.push(await firstByte(socketPath));
  result = { firstByteMs: samples };
} else if (mode === 'srun') {
  const bytes = Number(rest[0]);
  result = {
    mbPerSecond: await timeStream([...step, 'head', '-c', String(bytes), '/dev/zero'], bytes),
  };
} else if (mode === 'relay') {
  const [socketPath = '', size = '0'] = rest;
  const bytes = Number(size);
  const request = `GET /download?size=${bytes} HTTP/1.1\r\nHost: localhost\r\n\r\n`;
  result = {
    mbPerSecond: await timeStream(
      [...step, ...COMMAND, 'relay', `--socket=${socketPath}`],
      bytes,
      request,
    ),
  };
} else {
  throw new Error(`step-probe: unknown mode ${mode}`);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
