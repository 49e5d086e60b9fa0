// A real one-node Slurm cluster (Debian's Slurm 22.05) for the tests, on this machine, as root:
// munged, slurmctld and slurmd in the foreground, each in its own session, everything under one
// temporary directory (mode 0755, so that every user's client tools reach the munge socket and
// slurm.conf) with ports of its own, so two test files can each run one at the same time.
// Clients need only SLURM_CONF (`cluster.env`). Teardown cancels every job, stops the daemons,
// kills what the jobs left (found by this cluster's SLURM_CONF in their environment) and removes
// the directory.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
} from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { canConnect } from './double-process.js';
import { isAlive, pidsWithEnv, waitUntil } from './proc.js';
import { asUser, isRoot, notRootReason, type TestUser } from './users.js';

/** The Debian packages (and a command each ships) the cluster needs. */
const PACKAGES: Record<string, string> = {
  munge: '/usr/sbin/munged',
  slurmctld: '/usr/sbin/slurmctld',
  slurmd: '/usr/sbin/slurmd',
  'slurm-client': '/usr/bin/srun',
};

const MISSING = Object.entries(PACKAGES)
  .filter(([, file]) => !existsSync(file))
  .map(([name]) => name);

/**
 * Why Slurm tests cannot run here, or false. In CI (CI=true) missing packages are not a reason
 * to skip: .ci/run installs them, so the tests run and fail saying what is missing.
 */
export const slurmSkipReason: string | false = !isRoot
  ? `${notRootReason}, and to start munged, slurmctld and slurmd`
  : MISSING.length > 0 && !process.env.CI
    ? `needs the Debian packages ${MISSING.join(', ')} (apt-get install --no-install-recommends slurmctld slurmd slurm-client munge; .ci/run does)`
    : false;

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface JobState {
  /** RUNNING, PENDING, CANCELLED…; '' when Slurm does not know the job (any more). */
  state: string;
  /** Slurm's reason: None, Resources, Priority… */
  reason: string;
}

export interface SlurmCluster {
  /** The cluster's directory (0755): slurm.conf, munge/, state/, spool/, log/, home/. */
  readonly dir: string;
  /** The only node: this host's short name. */
  readonly node: string;
  /** CPUs of the node, as slurmd -C counts them. */
  readonly cpus: number;
  /** What every client command needs: SLURM_CONF. */
  readonly env: Record<string, string>;
  /** How long the start took, from the first daemon to an idle node (ms). */
  readonly startMs: number;
  /** Runs a Slurm client command, as `user` when given (with a clean environment plus env). */
  run(command: string, args: readonly string[], user?: TestUser): Promise<CommandResult>;
  /** A directory only `user` can enter, for job working directories and sockets. */
  makeUserDir(user: TestUser, name?: string): string;
  /** `sbatch --parsable` as `user` in `workDir`; resolves with the job id. */
  submit(user: TestUser, workDir: string, args: readonly string[]): Promise<string>;
  /** `squeue -t all -j ID`: also jobs that have ended, for MinJobAge. */
  getJobState(jobId: string): Promise<JobState>;
  /** Polls until the job's state is `state` (with `reason`, when given); resolves with both. */
  waitForState(jobId: string, state: string, reason?: string, timeout?: number): Promise<JobState>;
  stop(): Promise<void>;
}

const COMMAND_TIMEOUT = 30_000;

// Runs a command to its end with a timeout, whatever its exit code.
function runCommand(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { env, timeout: COMMAND_TIMEOUT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({
          code,
          stdout,
          stderr: error && code === null ? `${stderr}${error.message}` : stderr,
        });
      },
    );
  });
}

// A TCP port nobody listens on right now; the daemons bind it a moment later (a start that
// loses the race is retried with other ports).
async function getFreePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

// The node's CPUs and memory from `slurmd -C`, which is what slurmd will register.
async function describeNode(): Promise<{ cpus: number; memory: number }> {
  const { stdout } = await runCommand('slurmd', ['-C']);
  const cpus = Number(/\bCPUs=(\d+)/.exec(stdout)?.[1]);
  const memory = Number(/\bRealMemory=(\d+)/.exec(stdout)?.[1]);
  if (!(cpus > 0) || !(memory > 0))
    throw new Error(`slurmd -C printed no CPUs/RealMemory: ${stdout}`);
  return { cpus, memory: Math.floor(memory * 0.95) };
}

export interface ConfInput {
  dir: string;
  node: string;
  cpus: number;
  memory: number;
  ctldPort: number;
  slurmdPort: number;
}

// slurm.conf for one node on this host with no systemd, cgroups, accounting or slurm user:
// everything in `dir`. KillWait=5 keeps cancelled jobs short; MinJobAge keeps ended jobs
// visible to `squeue -t all`.
export function buildSlurmConf(input: ConfInput): string {
  const { dir, node } = input;
  const settings: [string, string | number][] = [
    ['ClusterName', 'test'],
    ['SlurmctldHost', `${node}(127.0.0.1)`],
    ['SlurmctldPort', input.ctldPort],
    ['SlurmdPort', input.slurmdPort],
    ['SlurmUser', 'root'],
    ['SlurmdUser', 'root'],
    ['AuthType', 'auth/munge'],
    ['CredType', 'cred/munge'],
    ['AuthInfo', `socket=${join(dir, 'munge', 'munge.sock')}`],
    ['StateSaveLocation', join(dir, 'state')],
    ['SlurmdSpoolDir', join(dir, 'spool')],
    ['SlurmctldPidFile', join(dir, 'run', 'slurmctld.pid')],
    ['SlurmdPidFile', join(dir, 'run', 'slurmd.pid')],
    ['SlurmctldLogFile', join(dir, 'log', 'slurmctld.log')],
    ['SlurmdLogFile', join(dir, 'log', 'slurmd.log')],
    ['PlugStackConfig', join(dir, 'plugstack.conf')],
    ['ProctrackType', 'proctrack/linuxproc'],
    ['TaskPlugin', 'task/none'],
    ['JobAcctGatherType', 'jobacct_gather/none'],
    ['AccountingStorageType', 'accounting_storage/none'],
    ['JobCompType', 'jobcomp/none'],
    ['MpiDefault', 'none'],
    ['SwitchType', 'switch/none'],
    ['SchedulerType', 'sched/backfill'],
    ['SchedulerParameters', 'batch_sched_delay=0'],
    ['SelectType', 'select/cons_tres'],
    ['SelectTypeParameters', 'CR_Core_Memory'],
    ['DefMemPerCPU', 256],
    ['KillWait', 5],
    ['OverTimeLimit', 0],
    ['InactiveLimit', 0],
    ['MinJobAge', 300],
    ['ReturnToService', 2],
    // The node may be declared with more CPUs than it has (startSlurmCluster's `cpus`), so that
    // the jobs of tests that run side by side do not queue behind each other.
    ['SlurmdParameters', 'config_overrides'],
    ['EnforcePartLimits', 'ALL'],
    ['MailProg', '/bin/true'],
  ];
  return [
    ...settings.map(([key, value]) => `${key}=${value}`),
    `NodeName=${node} NodeAddr=127.0.0.1 NodeHostname=${node} CPUs=${input.cpus} RealMemory=${input.memory}`,
    'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
    '',
  ].join('\n');
}

interface Daemon {
  name: string;
  child: ChildProcess;
  log: string;
  exited: Promise<void>;
}

// A daemon in the foreground in a session of its own, its output in `log`. Through setpriv
// --pdeathsig, so that a test process killed before its teardown does not leave it running.
function startDaemon(name: string, argv: string[], log: string, env: NodeJS.ProcessEnv): Daemon {
  const fd = openSync(log, 'a');
  const child = spawn('setpriv', ['--pdeathsig', 'TERM', '--', ...argv], {
    env,
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  child.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { name, child, log, exited };
}

function isRunning(daemon: Daemon): boolean {
  return daemon.child.exitCode === null && daemon.child.signalCode === null;
}

// Polls `check` until true; fails early, with the daemons' logs, when one of them exits.
async function waitWhileRunning(
  daemons: Daemon[],
  check: () => Promise<boolean>,
  timeout: number,
  what: string,
): Promise<void> {
  await waitUntil(
    async () => {
      const dead = daemons.find((daemon) => !isRunning(daemon));
      if (dead) throw new Error(`${dead.name} exited while waiting for ${what}`);
      return check();
    },
    timeout,
    what,
  );
}

async function readLogs(daemons: Daemon[]): Promise<string> {
  const parts = await Promise.all(
    daemons.map(
      async (d) =>
        `--- ${d.name}:\n${(await readFile(d.log, 'utf8').catch(() => '')).slice(-3000)}`,
    ),
  );
  return parts.join('\n');
}

// SIGTERM, then SIGKILL to the daemon's session if it has not exited within `timeout`.
async function stopDaemon(daemon: Daemon, timeout = 10_000): Promise<void> {
  if (!isRunning(daemon)) return;
  daemon.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      try {
        process.kill(-(daemon.child.pid ?? 0), 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      resolve();
    }, timeout);
  });
  await Promise.race([daemon.exited, killed]);
  clearTimeout(timer);
  await daemon.exited;
}

class Cluster implements SlurmCluster {
  readonly dir: string;
  readonly node: string;
  readonly cpus: number;
  readonly env: Record<string, string>;
  readonly confPath: string;
  startMs = 0;
  readonly #daemons: Daemon[] = [];

  constructor(dir: string, node: string, cpus: number) {
    this.dir = dir;
    this.node = node;
    this.cpus = cpus;
    this.confPath = join(dir, 'slurm.conf');
    this.env = { SLURM_CONF: this.confPath };
  }

  get #rootEnv(): NodeJS.ProcessEnv {
    return { ...process.env, ...this.env };
  }

  async start(memory: number): Promise<void> {
    const dir = this.dir;
    for (const sub of ['munge', 'state', 'spool', 'run', 'log', 'home']) {
      mkdirSync(join(dir, sub), { mode: 0o755 });
    }
    const key = join(dir, 'munge', 'munge.key');
    const made = await runCommand('mungekey', ['--create', `--keyfile=${key}`]);
    if (made.code !== 0) throw new Error(`mungekey failed: ${made.stderr}`);
    chmodSync(key, 0o400);
    await writeFile(join(dir, 'plugstack.conf'), '');
    const started = Date.now();
    const munge = startDaemon(
      'munged',
      [
        'munged',
        '--foreground',
        `--socket=${join(dir, 'munge', 'munge.sock')}`,
        `--key-file=${key}`,
        `--pid-file=${join(dir, 'run', 'munged.pid')}`,
        `--log-file=${join(dir, 'log', 'munged.log')}`,
        `--seed-file=${join(dir, 'munge', 'munge.seed')}`,
      ],
      join(dir, 'log', 'munged.out'),
      this.#rootEnv,
    );
    this.#daemons.push(munge);
    await waitWhileRunning(
      [munge],
      () => canConnect(join(dir, 'munge', 'munge.sock')),
      15_000,
      'the munge socket',
    );
    // A port taken by someone else between getFreePort and the bind makes a daemon exit: retry.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#startSlurm(memory);
        break;
      } catch (error) {
        const logs = await readLogs(this.#daemons);
        await Promise.all(this.#daemons.slice(1).map((d) => stopDaemon(d)));
        this.#daemons.splice(1);
        if (attempt === 3)
          throw new Error(`${(error as Error).message}\n${logs}`, { cause: error });
      }
    }
    this.startMs = Date.now() - started;
  }

  async #startSlurm(memory: number): Promise<void> {
    const dir = this.dir;
    const conf = buildSlurmConf({
      dir,
      node: this.node,
      cpus: this.cpus,
      memory,
      ctldPort: await getFreePort(),
      slurmdPort: await getFreePort(),
    });
    await writeFile(this.confPath, conf, { mode: 0o644 });
    const ctld = startDaemon(
      'slurmctld',
      ['slurmctld', '-D', '-f', this.confPath],
      join(dir, 'log', 'slurmctld.out'),
      this.#rootEnv,
    );
    const slurmd = startDaemon(
      'slurmd',
      ['slurmd', '-D', '-N', this.node, '-f', this.confPath],
      join(dir, 'log', 'slurmd.out'),
      this.#rootEnv,
    );
    this.#daemons.push(ctld, slurmd);
    await waitWhileRunning(
      this.#daemons,
      async () => {
        const { stdout } = await this.run('sinfo', ['-h', '-n', this.node, '-o', '%T']);
        return stdout.trim() === 'idle';
      },
      30_000,
      `node ${this.node} idle in sinfo`,
    );
  }

  run(command: string, args: readonly string[], user?: TestUser): Promise<CommandResult> {
    if (!user) return runCommand(command, args, this.#rootEnv);
    const [runuser, argv] = asUser(user, command, args, this.env);
    return runCommand(runuser, argv);
  }

  makeUserDir(user: TestUser, name = user.name): string {
    const path = join(this.dir, 'home', name);
    mkdirSync(path, { mode: 0o700 });
    chownSync(path, user.uid, user.gid);
    return path;
  }

  async submit(user: TestUser, workDir: string, args: readonly string[]): Promise<string> {
    const result = await this.run(
      'sbatch',
      ['--parsable', `--chdir=${workDir}`, `--output=${join(workDir, 'slurm-%j.out')}`, ...args],
      user,
    );
    const jobId = result.stdout.trim().split(';')[0] ?? '';
    if (result.code !== 0 || !/^\d+$/.test(jobId)) {
      throw new Error(
        `sbatch as ${user.name} failed (exit ${result.code}): ${result.stderr}${result.stdout}`,
      );
    }
    return jobId;
  }

  async getJobState(jobId: string): Promise<JobState> {
    const { stdout } = await this.run('squeue', ['-h', '-t', 'all', '-j', jobId, '-o', '%T %r']);
    const [state = '', ...reason] = stdout.trim().split(' ');
    return { state, reason: reason.join(' ') };
  }

  async waitForState(
    jobId: string,
    state: string,
    reason?: string,
    timeout = 30_000,
  ): Promise<JobState> {
    let last: JobState = { state: '', reason: '' };
    try {
      await waitUntil(
        async () => {
          last = await this.getJobState(jobId);
          return last.state === state && (reason === undefined || last.reason === reason);
        },
        timeout,
        `job ${jobId} ${state}${reason === undefined ? '' : ` (${reason})`}`,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message} (last seen: ${last.state} ${last.reason})`, {
        cause: error,
      });
    }
    return last;
  }

  // Every job cancelled and gone, the daemons stopped, whatever the jobs left killed.
  async stop(): Promise<void> {
    if (this.#daemons.every(isRunning)) {
      const { stdout } = await this.run('squeue', ['-h', '-o', '%i']);
      const jobs = stdout.split('\n').filter((line) => line.trim() !== '');
      if (jobs.length > 0) {
        await this.run('scancel', jobs);
        await waitUntil(
          async () => (await this.run('squeue', ['-h', '-o', '%i'])).stdout.trim() === '',
          30_000,
          'every job gone from squeue',
        ).catch(() => undefined);
      }
    }
    for (const daemon of [...this.#daemons].reverse()) await stopDaemon(daemon);
    // slurmstepd re-parents itself to PID 1, so jobs can outlive slurmd.
    const marker = `SLURM_CONF=${this.confPath}`;
    for (const pid of pidsWithEnv(marker)) {
      if (pid === process.pid) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await waitUntil(
      () => pidsWithEnv(marker).every((pid) => !isAlive(pid)),
      10_000,
      'job processes gone',
    );
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface ClusterOptions {
  /** CPUs to declare for the node instead of the ones it has (Slurm's bookkeeping only). */
  cpus?: number | undefined;
}

// Starts a cluster in a new directory; on failure nothing of it is left.
export async function startSlurmCluster(options: ClusterOptions = {}): Promise<SlurmCluster> {
  if (MISSING.length > 0) {
    throw new Error(
      `Slurm is not installed: missing Debian packages ${MISSING.join(', ')} (apt-get install --no-install-recommends slurmctld slurmd slurm-client munge; .ci/run does)`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'rsp-slurm-'));
  chmodSync(dir, 0o755);
  const { cpus, memory } = await describeNode();
  const cluster = new Cluster(dir, hostname().split('.')[0] ?? 'localhost', options.cpus ?? cpus);
  try {
    await cluster.start(memory);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

// Registers hooks (call it inside a describe) that start one cluster before the suite and stop
// it after; the returned handle is usable by the time tests run.
export function useSlurmCluster(options: ClusterOptions = {}): { readonly cluster: SlurmCluster } {
  const handle: { cluster?: SlurmCluster } = {};
  before(async () => {
    handle.cluster = await startSlurmCluster(options);
  });
  after(async () => {
    await handle.cluster?.stop();
  });
  return {
    get cluster(): SlurmCluster {
      if (!handle.cluster)
        throw new Error('the Slurm cluster is not started (use it inside a test)');
      return handle.cluster;
    },
  };
}
