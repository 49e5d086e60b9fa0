import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { READY_PREFIX } from './servers/announce.js';

/** A process the bench started: it is stopped by stop(), or at the latest when the bench exits. */
export interface BenchProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything it wrote to stderr so far (for error messages). */
  stderr(): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

// Signals a process and everything in its process group (nginx's worker, serve's rserver
// where it did not move to a group of its own); the process alone if it has no group.
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

// Whatever happens to the bench (an error, Ctrl-C), nothing it started outlives it: a process
// SIGKILLed alone can orphan its children (nginx's worker survives its master).
export function stopAllOnExit(): void {
  process.once('exit', () => {
    for (const child of running) signalGroup(child, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => process.exit(130));
  }
}

export interface StartOptions extends SpawnOptions {
  /** How long to wait for the line that says it is ready, in ms. */
  timeout?: number;
}

// Starts a process that the bench keeps track of, in a process group of its own: it and what
// it started are stopped, at the latest, when the bench exits. stdin is a pipe the process may
// watch: it closes when the bench ends or dies.
export function spawnProcess(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): BenchProcess {
  const child = spawn(command, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    ...options,
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  // A command that cannot be started at all shows as an exit (ENOENT is in stderr()).
  let stderr = '';
  child.once('error', (error) => (stderr += error.message));
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  return {
    get pid() {
      return child.pid ?? -1;
    },
    child,
    stderr: () => stderr,
    stop: () => stopProcess(child),
  };
}

// Starts a process and waits until a stdout line matches `ready`; resolves with the match.
// Readiness is what the process says once it listens, never a sleep.
export async function startProcess(
  command: string,
  args: readonly string[],
  ready: RegExp,
  options: StartOptions = {},
): Promise<{ process: BenchProcess; match: RegExpExecArray }> {
  const { timeout = 15_000, ...spawnOptions } = options;
  const started = spawnProcess(command, args, spawnOptions);
  try {
    const match = await waitForLine(started.child, ready, timeout);
    return { process: started, match };
  } catch (error) {
    await started.stop();
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`${command} ${args.join(' ')}: ${why}\n${started.stderr()}`, {
      cause: error,
    });
  }
}

// Starts one of the bench's own servers (test/bench/servers) and reads the JSON it announces.
export async function startBenchServer(
  script: string,
  args: readonly string[],
): Promise<{ process: BenchProcess; fields: Record<string, unknown> }> {
  const { process: started, match } = await startProcess(
    process.execPath,
    [script, ...args],
    new RegExp(`^${READY_PREFIX}(.*)$`),
  );
  return { process: started, fields: JSON.parse(match[1] ?? '{}') as Record<string, unknown> };
}

function waitForLine(child: ChildProcess, pattern: RegExp, timeout: number) {
  return new Promise<RegExpExecArray>((resolve, reject) => {
    if (!child.stdout) {
      reject(new Error('no stdout pipe'));
      return;
    }
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => finish(new Error(`not ready within ${timeout} ms`)), timeout);
    const onExit = (code: number | null, signal: string | null) =>
      finish(new Error(`exited (code ${code}, signal ${signal}) before it was ready`));
    const onError = (error: Error) => finish(error);
    function finish(error: Error | undefined, match?: RegExpExecArray) {
      clearTimeout(timer);
      lines.off('line', onLine);
      child.off('exit', onExit);
      child.off('error', onError);
      // The rest of stdout is drained, so that a chatty process never blocks on a full pipe.
      child.stdout?.resume();
      if (match) resolve(match);
      else reject(error ?? new Error('not ready'));
    }
    function onLine(line: string) {
      const match = pattern.exec(line);
      if (match) finish(undefined, match);
    }
    lines.on('line', onLine);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

// SIGTERM (nginx's master and serve stop what they started), then SIGKILL to the group after
// 5 s; once the process has exited, whatever is left in its group goes too.
export async function stopProcess(child: ChildProcess, grace = 5000): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const killed = await Promise.race([exited.then(() => false), delay(grace, true)]);
    if (killed) {
      signalGroup(child, 'SIGKILL');
      await exited;
    }
  }
  signalGroup(child, 'SIGKILL');
}

// Runs a command to its end and resolves with its output; rejects when it fails.
export function runCommand(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (error) => {
      running.delete(child);
      reject(error);
    });
    child.once('close', (code) => {
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}
