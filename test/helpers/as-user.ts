// Tests where a second real user attacks: the victim's `serve` runs as one throw-away account,
// in directories of its own, and the attacker's programs run as another.
import { spawn } from 'node:child_process';
import { chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, startCli, type RunningCli } from './cli.js';
import type { HttpTarget } from './http-client.js';
import type { RawAnswer } from './raw-http.js';
import { makeTempDir } from './temp.js';
import { asUser, execAsUser, type TestUser } from './users.js';

/** A compiled fixture under dist/test/fixtures. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

// A home, data and runtime directory of `user`'s own (mode 0700, owned by it) in `root`: the
// environment a user's `serve` runs with. Make `root` outside hooks (makeTempDir's removal
// would be the hook's own after).
export function makeUserEnv(
  user: TestUser,
  root = makeTempDir('rsp-user-'),
): Record<string, string> {
  const home = join(root, 'home');
  mkdirSync(home, { mode: 0o700, recursive: true });
  for (const dir of [root, home]) chownSync(dir, user.uid, user.gid);
  return { HOME: home, XDG_DATA_HOME: home, RSESSION_PROXY_RUNTIME_DIR: join(root, 'rt') };
}

// `rsession-proxy args…` run by `user` (setpriv, so signals reach it); resolves once it printed
// its URL.
export function startServeAs(
  user: TestUser,
  args: readonly string[],
  env: Record<string, string>,
): Promise<RunningCli> {
  return startCli(
    args,
    process.env,
    20_000,
    execAsUser(user, process.execPath, [CLI, ...args], env),
  );
}

export interface NodeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

// Runs `node <fixture> args…` as `user` to its end; killed and rejected after `timeout` ms.
export function runNodeAs(
  user: TestUser,
  fixture: string,
  args: readonly string[],
  timeout = 30_000,
): Promise<NodeRun> {
  const [command, argv] = asUser(user, process.execPath, [fixturePath(fixture), ...args]);
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${fixture} as ${user.name} ran over ${timeout} ms; stderr:\n${stderr}`));
    }, timeout);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// Raw bytes sent to a server by `user` (test/fixtures/raw-request), and what came back.
export async function sendRawAs(
  user: TestUser,
  target: HttpTarget,
  bytes: string,
  timeout = 5000,
): Promise<RawAnswer> {
  const run = await runNodeAs(user, 'raw-request.js', [
    JSON.stringify(target),
    Buffer.from(bytes, 'latin1').toString('base64'),
    String(timeout),
  ]);
  const line = run.stdout.trim().split('\n').pop() ?? '';
  if (!line.startsWith('{')) throw new Error(`raw-request as ${user.name}: ${run.stderr}`);
  return JSON.parse(line) as RawAnswer;
}
