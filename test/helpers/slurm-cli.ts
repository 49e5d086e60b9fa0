// `rsession-proxy slurm` as a throw-away user runs it on the "login node" of a test cluster:
// through setpriv (signals reach the command itself), a clean environment with the cluster's
// SLURM_CONF, a private data directory for the state the job reports to, and a short private
// XDG_RUNTIME_DIR as a login node has one (the job drops it, as on a real compute node).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { CLI, CliProcess, waitForServeUrl, type RunningCli } from './cli.js';
import { waitUntil } from './processes.js';
import type { SlurmCluster } from './slurm-cluster.js';
import { execAsUser, type TestUser } from './users.js';

export interface SlurmUser {
  user: TestUser;
  /** The environment the user's commands run with (PATH comes from asUser/execAsUser). */
  env: Record<string, string>;
  /** A directory of the user's for the job's working directory. */
  workDir: string;
  /** XDG_DATA_HOME: where the job directory (`…/instances/<instance>/slurm`) lives. */
  dataDir: string;
}

// The user's home (shared with "the compute node", as on a cluster) and directories in it; the
// runtime directory under /tmp, short enough for every socket an instance has.
export function prepareSlurmUser(cluster: SlurmCluster, user: TestUser): SlurmUser {
  const home = cluster.makeUserDir(user, `${user.name}-home`);
  const dataDir = cluster.makeUserDir(user, `${user.name}-data`);
  const workDir = cluster.makeUserDir(user, `${user.name}-work`);
  const runtimeDir = mkdtempSync('/tmp/rsp-xdg-');
  chownSync(runtimeDir, user.uid, user.gid);
  return {
    user,
    env: { ...cluster.env, HOME: home, XDG_DATA_HOME: dataDir, XDG_RUNTIME_DIR: runtimeDir },
    workDir,
    dataDir,
  };
}

// Removes what the users' instances leave under /tmp (the bases, the runtime directories).
export function removeSlurmUserDirs(who: readonly SlurmUser[]): void {
  for (const { user, env } of who) {
    const dirs = [env.XDG_RUNTIME_DIR, `/tmp/rsession-proxy-${user.uid}`, `/tmp/rsp-${user.uid}`];
    for (const dir of dirs) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/** A running `rsession-proxy slurm`: what startCli gives, and waiting for later lines. */
export interface RunningSlurm extends RunningCli {
  readonly cli: CliProcess;
  waitFor(pattern: RegExp, timeout?: number): Promise<string>;
  /** The job id of the last `submitted job N` or `attached to job N` line. */
  jobId(): string;
}

// Starts the command as `who` and resolves once it printed the URL to open (it listens before
// the job runs, so that a browser sees the wait).
export async function startSlurmCli(
  who: SlurmUser,
  args: readonly string[],
  timeout = 30_000,
): Promise<RunningSlurm> {
  const cli = new CliProcess(
    [],
    {},
    execAsUser(who.user, process.execPath, [CLI, 'slurm', ...args], who.env),
  );
  // Its stop waits for the job's cancel as well.
  const running = await waitForServeUrl(cli, timeout, 60_000);
  return {
    ...running,
    cli,
    waitFor: (pattern, waitTimeout) => cli.waitFor(pattern, waitTimeout),
    jobId() {
      const ids = [...cli.stderr.matchAll(/(?:submitted job|attached to job) (\d+)/g)];
      const id = ids.at(-1)?.[1];
      if (id === undefined) throw new Error(`no job id in:\n${cli.stderr}`);
      return id;
    },
  };
}

// Runs another command of the CLI (status, stop, relay…) as the user, to its end.
export function runCliAs(
  who: SlurmUser,
  args: readonly string[],
  input = '',
): { code: number | null; stdout: string; stderr: string } {
  const [command, argv] = execAsUser(who.user, process.execPath, [CLI, ...args], who.env);
  const result = spawnSync(command, argv, { encoding: 'utf8', input, timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The jobs of an instance (by the job name rsession-proxy gives them): id and state. */
export async function listInstanceJobs(
  cluster: SlurmCluster,
  instance: string,
): Promise<{ id: string; state: string }[]> {
  const { stdout } = await cluster.run('squeue', [
    '-h',
    '-t',
    'all',
    '-n',
    `rsession-proxy-${instance}`,
    '-o',
    '%i %T',
  ]);
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id = '', state = ''] = line.trim().split(' ');
      return { id, state };
    })
    .sort((a, b) => Number(a.id) - Number(b.id));
}

/** The user's live processes, as `pid command` lines. */
export function processesOf(user: TestUser): string[] {
  const result = spawnSync('pgrep', ['-a', '-u', user.name], { encoding: 'utf8' });
  return result.stdout.split('\n').filter((line) => line.trim() !== '');
}

// Waits until the user has no process left (what a job or a killed login side leaves ends by
// itself, shortly): the proof that nothing of it remains.
export async function waitForNoProcesses(user: TestUser, timeout = 20_000): Promise<void> {
  try {
    await waitUntil(() => processesOf(user).length === 0, timeout, `no process of ${user.name}`);
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${processesOf(user).join('; ')}`, {
      cause: error,
    });
  }
}

/** The SHA-256 of the rserver double's download of `size` bytes: byte n is n % 251. */
export function expectedDownloadHash(size: number): string {
  const hash = createHash('sha256');
  const block = Buffer.alloc(251 * 4096);
  for (let i = 0; i < block.length; i++) block[i] = i % 251;
  for (let left = size; left > 0; left -= block.length) {
    hash.update(left >= block.length ? block : block.subarray(0, left));
  }
  return hash.digest('hex');
}

// GETs `url` (or a path over a Unix socket) and hashes the body as it streams (a large download
// is never held in memory).
export function downloadHash(
  url: string | { socketPath: string; path: string },
  headers: Record<string, string>,
  timeout = 120_000,
): Promise<{ status: number; bytes: number; sha256: string; ms: number }> {
  const started = performance.now();
  const options = { headers, signal: AbortSignal.timeout(timeout) };
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage) => {
      const hash = createHash('sha256');
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          bytes,
          sha256: hash.digest('hex'),
          ms: performance.now() - started,
        }),
      );
      res.on('error', reject);
    };
    const req =
      typeof url === 'string'
        ? get(url, options, onResponse)
        : get({ ...url, ...options, agent: false }, onResponse);
    req.on('error', reject);
  });
}
