// Running the rserver double for the tests of this directory: a private layout (optionally owned
// by a throw-away user, optionally outside /tmp), the launcher-style arguments, the double on a
// Unix socket or on TCP, run as this user or as another (setpriv), optionally inside a command
// that wraps it (unshare), and a cleanup that also ends the rsessions and R processes it started.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { canConnect } from '../helpers/double-process.js';
import {
  cookieHeader,
  cookieJar,
  httpRequest,
  type HttpReply,
  type HttpTarget,
} from '../helpers/http-client.js';
import { isAlive, waitUntil } from '../helpers/proc.js';
import { FAKE_R, RSERVER_DOUBLE, findSessionPids } from '../helpers/rserver-double.js';
import { execAsUser, type TestUser } from '../helpers/users.js';

export interface Layout {
  dir: string;
  socket: string;
  dataDir: string;
  dbConf: string;
  keyFile: string;
}

/** A private directory for one double, removed when the test file ends; `base` defaults to the
 * temp dir (a double in a namespace with its own /tmp needs one outside it). */
export function makeLayout(owner?: TestUser, base = tmpdir()): Layout {
  const dir = mkdtempSync(join(base, 'rsd-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const layout = {
    dir,
    socket: join(dir, 'rserver.sock'),
    dataDir: join(dir, 'd'),
    dbConf: join(dir, 'database.conf'),
    keyFile: join(dir, 'secure-cookie-key'),
  };
  writeFileSync(layout.dbConf, `provider=sqlite\ndirectory=${join(dir, 'db')}\n`);
  if (owner !== undefined) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(layout.dbConf, owner.uid, owner.gid);
  }
  return layout;
}

/** A private directory of `owner` inside the layout (for RSTUDIO_CONFIG_DIR, caches). */
export function makeOwnedDir(layout: Layout, name: string, owner?: TestUser): string {
  const dir = join(layout.dir, name);
  mkdirSync(dir, { mode: 0o700 });
  if (owner !== undefined) chownSync(dir, owner.uid, owner.gid);
  return dir;
}

export interface DoubleOptions {
  /** `--name=value` arguments added to (or replacing) the launcher's. */
  args?: readonly string[];
  env?: Record<string, string>;
  /** RSERVER_DOUBLE_RELEASE. */
  release?: string;
  /** Listen on TCP, a free port, instead of the layout's socket. */
  tcp?: boolean;
  /** --www-address with `tcp` (default 127.0.0.1); '' leaves the option out (rserver: 0.0.0.0). */
  tcpAddress?: string;
  /** Run as this user (setpriv, clean environment). */
  user?: TestUser;
  /** A command and arguments the double runs inside: `[...wrapper, rserver, ...args]`. */
  wrapper?: readonly string[];
  /** USER for an auth-none sign-in; default the running user's name, or 'alice'. */
  signInUser?: string;
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface RunningDouble {
  child: ChildProcess;
  target: HttpTarget;
  stderr(): string;
  exited: Promise<Finished>;
  /** SIGKILLs the double, its rsessions and their R, and waits for the double. */
  stop(): Promise<void>;
}

// The arguments a user-mode launcher passes; extras replace the launcher's value of an option.
export function buildLaunchArgs(layout: Layout, options: DoubleOptions): string[] {
  const address = options.tcpAddress ?? '127.0.0.1';
  const listen = options.tcp
    ? [...(address === '' ? [] : [`--www-address=${address}`]), '--www-port=0']
    : [`--www-socket=${layout.socket}`];
  const defaults = [
    '--server-daemonize=0',
    '--auth-none=1',
    ...listen,
    `--server-data-dir=${layout.dataDir}`,
    `--database-config-file=${layout.dbConf}`,
    `--secure-cookie-key-file=${layout.keyFile}`,
    `--rsession-which-r=${FAKE_R}`,
    '--www-verify-user-agent=0',
    ...(options.user === undefined ? [] : [`--server-user=${options.user.name}`]),
  ];
  const name = (arg: string): string => arg.split('=')[0] ?? arg;
  const replaced = new Set((options.args ?? []).map(name));
  return [...defaults.filter((arg) => !replaced.has(name(arg))), ...(options.args ?? [])];
}

// The command line and environment of one run.
function buildCommand(
  layout: Layout,
  options: DoubleOptions,
): [string, string[], NodeJS.ProcessEnv] {
  const env: Record<string, string> = {
    RS_LOGGER_TYPE: 'stderr',
    RS_LOG_LEVEL: 'INFO',
    ...(options.release === undefined ? {} : { RSERVER_DOUBLE_RELEASE: options.release }),
    ...(options.env ?? {}),
  };
  const argv = [...(options.wrapper ?? []), RSERVER_DOUBLE, ...buildLaunchArgs(layout, options)];
  const [command = RSERVER_DOUBLE, ...args] = argv;
  if (options.user !== undefined) {
    const [setpriv, setprivArgs] = execAsUser(options.user, command, args, env);
    return [setpriv, setprivArgs, process.env];
  }
  const user = options.signInUser ?? 'alice';
  return [command, args, { PATH: process.env.PATH, HOME: process.env.HOME, USER: user, ...env }];
}

// Spawns one run of the double, collecting its stderr.
function spawnDouble(
  layout: Layout,
  options: DoubleOptions,
): { child: ChildProcess; stderr: () => string; exited: Promise<Finished> } {
  const [command, args, env] = buildCommand(layout, options);
  const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { child, stderr: () => stderr, exited };
}

/** Runs the double to its end (a start that fails), killing it after 20 s. */
export async function runDoubleToExit(
  layout: Layout,
  options: DoubleOptions = {},
): Promise<Finished> {
  const { child, exited } = spawnDouble(layout, options);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the double and waits until it accepts connections. */
export async function startDouble(
  layout: Layout,
  options: DoubleOptions = {},
): Promise<RunningDouble> {
  const { child, stderr, exited } = spawnDouble(layout, options);
  let finished: Finished | undefined;
  void exited.then((result) => (finished = result));
  let target: HttpTarget = { socketPath: layout.socket };
  await waitUntil(
    async () => {
      if (finished)
        throw new Error(`the double exited (${finished.code}) before listening: ${stderr()}`);
      if (options.tcp) {
        const port = Number(/listening on [\d.]+:(\d+)/.exec(stderr())?.[1] ?? 0);
        if (port > 0) target = { host: '127.0.0.1', port };
        return port > 0;
      }
      return canConnect(layout.socket);
    },
    15_000,
    'the double to listen',
  );
  const double: RunningDouble = {
    child,
    target,
    stderr,
    exited,
    async stop() {
      for (const pid of [child.pid ?? -1, ...findSessionPids(layout.dir)]) {
        if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
      }
      await exited;
      await waitUntil(() => findSessionPids(layout.dir).length === 0, 5000, 'rsessions to end');
    },
  };
  after(() => double.stop());
  return double;
}

/** GET or POST one path of the double with a Host header. */
export function ask(
  double: RunningDouble,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpReply> {
  return httpRequest(double.target, {
    method: options.method ?? 'GET',
    path,
    headers: { Host: 'h', ...(options.headers ?? {}) },
    ...(options.body === undefined ? {} : { body: options.body }),
  });
}

/** Signs in with auth-none and returns the browser's cookies. */
export async function signInNone(double: RunningDouble): Promise<Map<string, string>> {
  const answer = await ask(double, '/auth-sign-in?appUri=%2F');
  assert.equal(answer.status, 302, answer.body.toString());
  return cookieJar(answer.headers);
}

/** Calls one RPC as a signed-in browser (CSRF header from the cookie) and parses its JSON. */
export async function callRpc(
  double: RunningDouble,
  jar: ReadonlyMap<string, string>,
  method: string,
  params: unknown[] = [],
): Promise<unknown> {
  const answer = await ask(double, `/rpc/${method}`, {
    method: 'POST',
    headers: {
      Cookie: cookieHeader(jar),
      'X-RS-CSRF-Token': jar.get('rs-csrf-token') ?? jar.get('csrf-token') ?? '',
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({ method, params }),
  });
  assert.equal(answer.status, 200);
  return JSON.parse(answer.body.toString()) as unknown;
}
