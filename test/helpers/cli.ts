// Runs the built command the way users do: a real process, its exit code, stdout and stderr.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { FAKE_R, RSERVER_DOUBLE } from './rserver-double.js';

export const CLI = join(import.meta.dirname, '..', '..', 'bin', 'rsession-proxy.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Flags that make serve/exec use the rserver double and the stand-in for R. */
export const DOUBLE_FLAGS = [`--rserver=${RSERVER_DOUBLE}`, `--r=${FAKE_R}`];

// Runs the command to completion; it is killed (and the test fails) after `timeout` ms.
export function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeout = 30_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: AbortSignal.timeout(timeout),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) =>
      reject(new Error(`${args.join(' ')}: ${error.message}\n${stderr}`)),
    );
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

// A long-running command (serve, exec) with its output collected line by line, so a test can
// wait for the line that says it is ready, and for its exit.
export class CliProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout = '';
  stderr = '';
  readonly #listeners = new Set<() => void>();

  constructor(args: readonly string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [CLI, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (chunk: Buffer) => this.#append('stdout', chunk));
    this.child.stderr?.on('data', (chunk: Buffer) => this.#append('stderr', chunk));
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code, signal) => {
        resolve({ code, signal });
        for (const listener of this.#listeners) listener();
      }),
    );
  }

  #append(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    this[stream] += chunk.toString();
    for (const listener of this.#listeners) listener();
  }

  // The first line (of stdout and stderr) matching `pattern`; fails after `timeout` ms or when
  // the process ends first, with everything it printed.
  waitFor(pattern: RegExp, timeout = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = `${this.stdout}\n${this.stderr}`.split('\n').find((l) => pattern.test(l));
        if (line !== undefined) finish(undefined, line);
        else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          finish(new Error(`exited before printing ${pattern}`));
        }
      };
      const timer = setTimeout(
        () => finish(new Error(`nothing matched ${pattern} within ${timeout} ms`)),
        timeout,
      );
      const finish = (error: Error | undefined, line = '') => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        if (error)
          reject(new Error(`${error.message}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`));
        else resolve(line);
      };
      this.#listeners.add(check);
      check();
    });
  }

  // Sends `signal` and waits for the exit, killing it if it does not exit within `timeout`.
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeout = 20_000) {
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeout);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The URL `serve` printed (with its token). */
export function getServeUrl(stdout: string): URL | undefined {
  const match = /http:\/\/\S+/.exec(stdout);
  return match ? new URL(match[0]) : undefined;
}
