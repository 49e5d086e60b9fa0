// Runs the built `rsession-proxy` command as a user would: a real process, real signals, its
// own runtime and state directories. `CliProcess` and `startCli` are for long-running commands
// (`serve`, `exec`); `runCli` is for commands that end (`status`, `stop`, `doctor`, a failure).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { waitForExit } from './processes.js';
import { FAKE_R, RSERVER_DOUBLE } from './rserver-double.js';
import { makeTempDir } from './temp.js';

/** The built command (dist/bin/rsession-proxy.js). */
export const CLI = fileURLToPath(new URL('../../bin/rsession-proxy.js', import.meta.url));

/** Flags that make serve/exec use the rserver double and the stand-in for R. */
export const DOUBLE_FLAGS = [`--rserver=${RSERVER_DOUBLE}`, `--r=${FAKE_R}`];

export interface CliEnv {
  /** A private temp directory, removed after the test file. */
  root: string;
  /** `RSESSION_PROXY_RUNTIME_DIR`: where instances live. */
  runtimeDir: string;
  /** This process's environment without its RSESSION_PROXY_* and RSERVER_* settings, plus the two directories. */
  env: NodeJS.ProcessEnv;
}

// Runtime and state directories of their own, so that nothing a test does touches the user's.
export function makeCliEnv(extra: NodeJS.ProcessEnv = {}): CliEnv {
  const root = makeTempDir('rsp-cli-');
  const dataHome = join(root, 'data');
  mkdirSync(dataHome, { mode: 0o700 });
  const runtimeDir = join(root, 'rt');
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('RSESSION_PROXY_') && !key.startsWith('RSERVER_')) env[key] = value;
  }
  return {
    root,
    runtimeDir,
    env: { ...env, XDG_DATA_HOME: dataHome, RSESSION_PROXY_RUNTIME_DIR: runtimeDir, ...extra },
  };
}

export interface DoubleServeOptions {
  /** The rserver to run: the double, or a variant of it (writeRserverVariant). */
  rserver?: string | undefined;
  /** `--prefix`; default `/rstudio/`. */
  prefix?: string | undefined;
  /** More flags for serve, and after `--` arguments for rserver. */
  args?: readonly string[] | undefined;
}

// `serve` in front of the rserver double: a TCP listener on 127.0.0.1, port 0, token auth.
export function serveDoubleArgs(options: DoubleServeOptions = {}): string[] {
  return [
    'serve',
    `--rserver=${options.rserver ?? RSERVER_DOUBLE}`,
    `--r=${FAKE_R}`,
    '--listen=127.0.0.1:0',
    `--prefix=${options.prefix ?? '/rstudio/'}`,
    ...(options.args ?? []),
  ];
}

const running = new Set<CliProcess>();
// Registered when a test file imports this module, so it runs once that file is done.
after(async () => {
  await Promise.all([...running].map((cli) => cli.stop('SIGTERM', 15_000)));
});

// A running command with its output collected, so a test can wait for the line that says it is
// ready, and for its exit. One the test left running is stopped after the test file: SIGTERM
// first, so that serve stops rserver and its rsession (SIGKILL would orphan the rsession).
export class CliProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout = '';
  stderr = '';
  readonly #listeners = new Set<() => void>();

  // `argv` replaces `node <cli> args` when given: e.g. the same command run as another user.
  constructor(args: readonly string[], env: NodeJS.ProcessEnv, argv?: [string, string[]]) {
    const [command, commandArgs] = argv ?? [process.execPath, [CLI, ...args]];
    this.child = spawn(command, commandArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (chunk: Buffer) => this.#append('stdout', chunk));
    this.child.stderr?.on('data', (chunk: Buffer) => this.#append('stderr', chunk));
    // 'close' comes after 'exit', once the output pipes are drained.
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code, signal) => {
        resolve({ code, signal });
        for (const listener of this.#listeners) listener();
      }),
    );
    running.add(this);
    void this.exited.then(() => running.delete(this));
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
        if (error) {
          reject(new Error(`${error.message}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`));
        } else resolve(line);
      };
      this.#listeners.add(check);
      check();
    });
  }

  // Sends `signal` and waits for the exit, killing it if it does not exit within `timeout`.
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeout = 20_000) {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
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

export interface RunningCli {
  child: ChildProcess;
  pid: number;
  /** The URL `serve` printed, token included. */
  url: URL;
  /** `http://127.0.0.1:<port>` for a TCP listener. */
  origin: string;
  /** The `?token=` of the printed URL, or undefined. */
  token: string | undefined;
  /** Everything written to stdout and stderr so far. */
  stdout(): string;
  stderr(): string;
  /** SIGTERM (the clean way), then SIGKILL after `timeout` ms; resolves how it ended. */
  stop(timeout?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

// Starts `serve` and resolves once it printed the URL to open; fails with its output if it exits
// first or prints nothing within `timeout` ms. `argv` as for CliProcess (another user's serve).
export async function startCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeout = 20_000,
  argv?: [string, string[]],
): Promise<RunningCli> {
  return waitForServeUrl(new CliProcess(args, env, argv), timeout);
}

// Resolves once a started serve (or slurm) printed the URL to open; kills it if it does not
// within `timeout` ms. `stopTimeout` is how long its SIGTERM may take before the SIGKILL.
export async function waitForServeUrl(
  cli: CliProcess,
  timeout: number,
  stopTimeout = 20_000,
): Promise<RunningCli> {
  let line: string;
  try {
    line = await cli.waitFor(/^\s+http:\/\/\S+/, timeout);
  } catch (error) {
    await cli.stop('SIGKILL');
    throw error;
  }
  const url = new URL(line.trim());
  return {
    child: cli.child,
    pid: cli.child.pid ?? 0,
    url,
    origin: url.origin,
    token: url.searchParams.get('token') ?? undefined,
    stdout: () => cli.stdout,
    stderr: () => cli.stderr,
    stop: (timeoutMs = stopTimeout) => cli.stop('SIGTERM', timeoutMs),
  };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

// Runs a command to its end; one that outlives `timeout` ms is SIGKILLed and the call fails.
export async function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeout = 30_000,
): Promise<CliResult> {
  const cli = new CliProcess(args, env);
  try {
    const { code, signal } = await waitForExit(cli.child, timeout);
    // A descendant that kept the pipes open must not hang the test.
    await Promise.race([cli.exited, delay(5000, undefined, { ref: false })]);
    return { code, signal, stdout: cli.stdout, stderr: cli.stderr };
  } catch (error) {
    cli.child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}; stderr:\n${cli.stderr}`, { cause: error });
  }
}

// The stop command serve printed on `line` ("stop with Ctrl-C or `…`"), run as printed from a
// shell that has not set RSESSION_PROXY_RUNTIME_DIR: the advice must name what it needs.
export async function runPrintedStop(
  line: string,
  env: NodeJS.ProcessEnv,
): Promise<{ command: string | undefined; result: CliResult | undefined }> {
  const command = /`(rsession-proxy stop[^`]*)`/.exec(line)?.[1];
  if (command === undefined) return { command, result: undefined };
  const plain = { ...env };
  delete plain.RSESSION_PROXY_RUNTIME_DIR;
  return { command, result: await runCli(command.split(' ').slice(1), plain) };
}
