import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { randomBytes } from 'node:crypto';
import { readableByOthers, readableCwd } from './readable-copy.js';

// Isolation tests act as real, separate Unix users; that needs root (CI runs as root).
export const isRoot = process.getuid?.() === 0;
export const notRootReason =
  'needs root to create throw-away users (useradd) and act as them (runuser)';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
}

// Creates a throw-away system user with no home directory; remove it with removeUser.
export function createUser(role: string): TestUser {
  const name = `rsp${role.slice(0, 8)}${randomBytes(3).toString('hex')}`;
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name]);
  const id = (flag: string) =>
    Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { name, uid: id('-u'), gid: id('-g') };
}

export function removeUser(user: TestUser | undefined): void {
  if (!user) return;
  // Processes a test left behind would make userdel fail; they are the test's own, end them.
  // A killed process may still be exiting when userdel looks: try again until it is gone.
  const deadline = Date.now() + 10_000;
  for (;;) {
    spawnSync('pkill', ['-KILL', '-u', user.name]);
    const removed = spawnSync('userdel', [user.name], { encoding: 'utf8' });
    if (removed.status === 0) return;
    if (Date.now() > deadline) throw new Error(`userdel ${user.name}: ${removed.stderr}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}

// Registers hooks (call it inside a describe) that create one throw-away user per role before
// the suite and remove them after it; the returned record is filled in by the time tests run.
export function useUsers<R extends string>(...roles: R[]): Record<R, TestUser> {
  const users = {} as Record<R, TestUser>;
  before(() => {
    for (const role of roles) users[role] = createUser(role);
  });
  after(() => {
    for (const role of roles) removeUser(users[role]);
  });
  return users;
}

// `env -i --chdir=… PATH=… USER=… <env> command args…`: the command with a clean environment,
// in a working directory the user can enter, its paths into the clone and Node.js's directory
// made ones the user can reach.
function inCleanEnv(
  user: TestUser,
  command: string,
  args: readonly string[],
  env: Record<string, string>,
): string[] {
  const assignments = Object.entries({ PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }).map(
    ([key, value]) => `${key}=${readableByOthers(value)}`,
  );
  return [
    'env',
    '-i',
    `--chdir=${readableCwd()}`,
    `USER=${user.name}`,
    ...assignments,
    readableByOthers(command),
    ...args.map(readableByOthers),
  ];
}

// The argv that runs `command args...` as `user` (through runuser), with a clean environment
// plus `env`.
export function asUser(
  user: TestUser,
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
): [string, string[]] {
  return ['runuser', ['-u', user.name, '--', ...inCleanEnv(user, command, args, env)]];
}

// Like asUser, but through `setpriv`, which execs the command in place: the pid the test holds
// is the command's own, so signals sent to it reach it (runuser forks and waits instead).
export function execAsUser(
  user: TestUser,
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
): [string, string[]] {
  const ids = [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--'];
  return ['setpriv', [...ids, ...inCleanEnv(user, command, args, env)]];
}

export interface LibCallResult<T> {
  value?: T;
  error?: { code?: string; message: string };
}

// Runs one library function as `user` (through test/fixtures/lib-call) and returns its outcome.
export function callLibAs<T>(
  user: TestUser,
  name: string,
  args: readonly unknown[],
  env: Record<string, string> = {},
): LibCallResult<T> {
  const libCall = join(import.meta.dirname, '..', 'fixtures', 'lib-call.js');
  const [command, argv] = asUser(
    user,
    process.execPath,
    [libCall, name, ...args.map((a) => JSON.stringify(a))],
    env,
  );
  const result = spawnSync(command, argv, { encoding: 'utf8', timeout: 30_000 });
  const line = result.stdout.trim().split('\n').pop() ?? '';
  if (!line.startsWith('{'))
    throw new Error(`lib-call ${name} as ${user.name} printed nothing: ${result.stderr}`);
  return JSON.parse(line) as LibCallResult<T>;
}
