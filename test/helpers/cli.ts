// Runs the built `rsession-proxy` command as a user would: a real process, real signals, its
// own runtime and state directories. `startCli` is for `serve` (it waits for the printed URL);
// `runCli` is for commands that end (`status`, `stop`, `doctor`, a `serve` that must fail).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { waitForExit, waitForLine } from './processes.js';
import { FAKE_R, RSERVER_DOUBLE } from './rserver-double.js';
import { makeTempDir } from './temp.js';

/** The built command (dist/bin/rsession-proxy.js). */
export const CLI = fileURLToPath(new URL('../../bin/rsession-proxy.js', import.meta.url));

export interface CliEnv {
  /** A private temp directory, removed after the test file. */
  root: string;
  /** `RSESSION_PROXY_RUNTIME_DIR`: where instances live. */
  runtimeDir: string;
  /** The environment to run the command with (this process's, plus the two directories). */
  env: NodeJS.ProcessEnv;
}

// Runtime and state directories of their own, so that nothing a test does touches the user's.
export function makeCliEnv(extra: NodeJS.ProcessEnv = {}): CliEnv {
  const root = makeTempDir('rsp-cli-');
  const dataHome = join(root, 'data');
  mkdirSync(dataHome, { mode: 0o700 });
  const runtimeDir = join(root, 'rt');
  return {
    root,
    runtimeDir,
    env: {
      ...process.env,
      XDG_DATA_HOME: dataHome,
      RSESSION_PROXY_RUNTIME_DIR: runtimeDir,
      ...extra,
    },
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

// Spawns the command, collects its output, and ends it after the test file if the test did not.
function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [CLI, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close' comes after 'exit', once the output pipes are drained.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  // A test that failed half-way: SIGTERM first, so that serve stops rserver and its rsession
  // (a SIGKILL would orphan the rsession), SIGKILL if it does not end.
  after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await waitForExit(child, 15_000).catch(() => child.kill('SIGKILL'));
  });
  return { child, closed, stdout: () => stdout, stderr: () => stderr };
}

// Starts a long-running command (`serve`) and resolves once it printed the URL to open; fails
// with its stderr if it exits first or prints nothing within `timeout` ms.
export async function startCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeout = 20_000,
): Promise<RunningCli> {
  const { child, stdout, stderr } = spawnCli(args, env);
  let line: string;
  try {
    line = await waitForLine(child, /^\s+http:\/\/\S+/, timeout);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}; stderr:\n${stderr()}`, { cause: error });
  }
  const url = new URL(line.trim());
  return {
    child,
    pid: child.pid ?? 0,
    url,
    origin: url.origin,
    token: url.searchParams.get('token') ?? undefined,
    stdout,
    stderr,
    async stop(stopTimeout = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      try {
        return await waitForExit(child, stopTimeout);
      } catch (error) {
        child.kill('SIGKILL');
        throw error;
      }
    },
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
  timeout = 20_000,
): Promise<CliResult> {
  const { child, closed, stdout, stderr } = spawnCli(args, env);
  try {
    const { code, signal } = await waitForExit(child, timeout);
    // A descendant that kept the pipes open must not hang the test.
    await Promise.race([closed, delay(5000, undefined, { ref: false })]);
    return { code, signal, stdout: stdout(), stderr: stderr() };
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}; stderr:\n${stderr()}`, { cause: error });
  }
}
