// The Slurm path (issue #15), on a one-node cluster on this host: `rsession-proxy slurm` as a
// throw-away user, the bench backend as rserver in the job. Measured per round: the time from
// the command to a served page and its parts, the first byte of a new backend connection (one
// step launch), requests through the job against `serve` on the same host, whether a warm page
// load opens a step, and download throughput through the front, through the relay alone and
// through bare srun (the path's ceiling).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { Agent, get as getWithAgent } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSlurmCluster, type SlurmCluster } from '../helpers/slurm-cluster.js';
import { createUser, execAsUser, isRoot, removeUser, type TestUser } from '../helpers/users.js';
import { FAKE_R, FAKE_RSERVER, startServe } from './contenders.js';
import { httpGet } from './http-get.js';
import { runCommand, spawnProcess, type BenchProcess } from './processes.js';
import type { RoundContext } from './rounds.js';
import { runWrk, type HttpResult } from './wrk.js';

const script = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const CLI = script('../../bin/rsession-proxy.js');
const STEP_PROBE = script('./clients/step-probe.js');
const DOWNLOAD = script('./clients/download.js');

/** The parts of one start, in ms from the command being run. */
export interface SlurmStartup {
  /** The command started, to sbatch having answered. */
  submittedMs: number;
  /** Submitted to RUNNING: the queue (empty here). */
  queueMs: number;
  /**
   * RUNNING to exec's first line in the job: Slurm starting the batch script, Node starting (0
   * when the login side saw RUNNING only after that line).
   */
  jobStartMs: number;
  /** exec's first line to rserver answering on its socket in the job. */
  rserverStartMs: number;
  /** rserver ready to the login side's check through a step having answered. */
  probeMs: number;
  /** The command started to the first byte of the first page it served. */
  totalMs: number;
}

export interface SlurmRound {
  round: number;
  startup: SlurmStartup;
  /** The first byte of a new backend connection: a step launched, the relay, rserver. */
  newStepFirstByteMs: number[];
  /** wrk on one connection through the job, and through serve on this host. */
  http1: HttpResult | undefined;
  serveHttp1: HttpResult | undefined;
  /** wrk on 8 connections through the job. */
  http8: HttpResult | undefined;
  /** Steps the login side opened for a warm page load (five requests on warm connections). */
  warmPageSteps: number;
  /** MB/s: through the login side's front, through srun and the relay alone, bare srun. */
  downloadFront: number;
  downloadRelay: number;
  downloadSrun: number;
  /** Ctrl-C (SIGTERM) to the command's exit: the job cancelled and reported gone. */
  stopMs: number;
}

export interface SlurmResults {
  clusterStartMs: number;
  downloadBytes: number;
  rounds: SlurmRound[];
}

// Why the Slurm section cannot run here, or undefined.
export function getSlurmSkipReason(): string | undefined {
  if (!isRoot) return 'the Slurm path (needs root to start a one-node Slurm cluster and a user)';
  if (!existsSync('/usr/sbin/slurmctld') || !existsSync('/usr/bin/srun')) {
    return 'the Slurm path (apt-get install --no-install-recommends slurmctld slurmd slurm-client munge)';
  }
  return undefined;
}

interface Bench {
  cluster: SlurmCluster;
  user: TestUser;
  env: Record<string, string>;
  workDir: string;
  dataDir: string;
}

interface LogLine {
  time: string;
  message: string;
  event?: string;
  job?: string;
  socket?: string;
}

// The JSON lines a command wrote to stderr.
function parseLog(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

async function waitForEvent(
  proc: BenchProcess,
  stderr: () => string,
  event: string,
  timeout: number,
): Promise<LogLine> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const found = parseLog(stderr()).find((line) => line.event === event);
    if (found) return found;
    if (proc.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`rsession-proxy slurm: no ${event} event:\n${stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// Runs one of the clients as the job's user; resolves with what it printed.
async function runAsUser(bench: Bench, args: string[]): Promise<Record<string, unknown>> {
  const [command, argv] = execAsUser(bench.user, process.execPath, args, bench.env);
  const result = await runCommand(command, argv, { timeout: 600_000 });
  if (result.code !== 0) throw new Error(`${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

async function downloadThrough(origin: string, token: string, bytes: number): Promise<number> {
  const result = await runCommand(
    process.execPath,
    [DOWNLOAD, `${origin}/download?size=${bytes}`],
    {
      env: { ...process.env, BENCH_HEADERS: JSON.stringify({ authorization: `token ${token}` }) },
      timeout: 600_000,
    },
  );
  if (result.code !== 0) throw new Error(`download through the job: ${result.stderr}`);
  const figures = JSON.parse(result.stdout) as {
    bytes: number;
    seconds: number;
    firstByteMs: number;
  };
  return figures.bytes / 1e6 / (figures.seconds - figures.firstByteMs / 1000);
}

// A wrk run with errors, or none answered, is no figure: the round fails rather than report one.
function checkWrk(what: string, result: HttpResult): HttpResult {
  if (result.errors > 0 || result.requests === 0) {
    throw new Error(`wrk ${what}: ${result.errors} errors in ${result.requests} requests`);
  }
  return result;
}

async function stepsOpened(origin: string, token: string): Promise<number> {
  const answer = await httpGet(`${origin}/_rsession-proxy/status`, {
    authorization: `token ${token}`,
  });
  return (JSON.parse(answer.body) as { job?: { steps?: number } }).job?.steps ?? Number.NaN;
}

// One round: a fresh command (its start measured), then the load, then its stop.
async function runRound(
  bench: Bench,
  context: RoundContext,
  round: number,
  bytes: number,
): Promise<SlurmRound> {
  const token = randomBytes(24).toString('base64url');
  const env = { ...bench.env, RSESSION_PROXY_TOKEN: token };
  const args = [
    CLI,
    'slurm',
    `--rserver=${FAKE_RSERVER}`,
    `--r=${FAKE_R}`,
    '--listen=127.0.0.1:0',
    '--instance=bench',
    '--log-format=json',
    '--',
    `--chdir=${bench.workDir}`,
  ];
  const [command, argv] = execAsUser(bench.user, process.execPath, args, env);
  const started = Date.now();
  const proc = spawnProcess(command, argv);
  let stdout = '';
  let stderr = '';
  proc.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  proc.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    const ready = await waitForEvent(proc, () => stderr, 'ready', 120_000);
    const origin = /http:\/\/127\.0\.0\.1:\d+/.exec(stdout)?.[0] ?? '';
    // The first page, asked for as soon as the command said RStudio answered.
    const pageSent = Date.now();
    const page = await httpGet(`${origin}/`, { authorization: `token ${token}` }, 60_000);
    if (page.status !== 200)
      throw new Error(`the first page answered ${page.status}: ${page.body}`);
    const log = parseLog(stderr);
    const at = (event: string) => Date.parse(log.find((line) => line.event === event)?.time ?? '');
    const jobId = ready.job ?? '';
    const jobLog = parseLog(
      readFileSync(
        join(bench.dataDir, 'rsession-proxy', 'instances', 'bench', 'slurm', `job-${jobId}.log`),
        'utf8',
      ),
    );
    const execStart = Date.parse(jobLog[0]?.time ?? '');
    const rserverReady = Date.parse(
      jobLog.find((line) => line.message.startsWith('rserver ready'))?.time ?? '',
    );
    const startup: SlurmStartup = {
      submittedMs: at('submitted') - started,
      // The login side sees RUNNING at its next squeue poll, which can come after exec in the job
      // has begun: the job was running by then at the latest.
      queueMs: Math.min(at('running'), execStart) - at('submitted'),
      jobStartMs: execStart - Math.min(at('running'), execStart),
      rserverStartMs: rserverReady - execStart,
      probeMs: at('ready') - rserverReady,
      totalMs: pageSent + page.firstByteMs - started,
    };
    const socket = ready.socket ?? '';
    const firstBytes = await runAsUser(bench, [STEP_PROBE, 'first-byte', jobId, socket, '5']);

    const wrk = context.tools.wrk;
    const headers: Record<string, string> = { authorization: `token ${token}` };
    let http1: HttpResult | undefined;
    let http8: HttpResult | undefined;
    let serveHttp1: HttpResult | undefined;
    if (wrk !== undefined && context.wrkScript !== undefined) {
      const run = (url: string, connections: number, seconds: number, h = headers) =>
        runWrk({ wrk, script: context.wrkScript ?? '', url, headers: h, connections, seconds });
      await run(`${origin}/`, 8, 1);
      http1 = checkWrk('through the job', await run(`${origin}/`, 1, context.settings.seconds));
      http8 = checkWrk('through the job', await run(`${origin}/`, 8, context.settings.seconds));
      const serve = await startServe(
        await mkdtemp(join(context.dir, 'slurm-serve-')),
        FAKE_RSERVER,
      );
      try {
        // serve starts rserver on the first request: that start is not what is compared.
        const first = await httpGet(`${serve.origin}/`, serve.headers, 60_000);
        if (first.status !== 200) throw new Error(`serve answered ${first.status}: ${first.body}`);
        await run(`${serve.origin}/`, 8, 1, serve.headers);
        serveHttp1 = checkWrk(
          'serve',
          await run(`${serve.origin}/`, 1, context.settings.seconds, serve.headers),
        );
      } finally {
        await serve.stop();
      }
    }

    // A page load on warm connections: its requests go out on steps already open.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<void>((resolve, reject) => {
        getWithAgent(`${origin}/`, { agent, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        }).on('error', reject);
      });
    await get();
    const stepsBefore = await stepsOpened(origin, token);
    for (let i = 0; i < 5; i++) await get();
    const warmPageSteps = (await stepsOpened(origin, token)) - stepsBefore;
    agent.destroy();

    const downloadFront = await downloadThrough(origin, token, bytes);
    const relay = await runAsUser(bench, [STEP_PROBE, 'relay', jobId, socket, String(bytes)]);
    const srun = await runAsUser(bench, [STEP_PROBE, 'srun', jobId, String(bytes)]);

    // SIGTERM, as Ctrl-C: the job cancelled, and Slurm reporting it gone, before the exit.
    const stopping = Date.now();
    const exited = new Promise((resolve) => proc.child.once('exit', resolve));
    proc.child.kill('SIGTERM');
    await exited;
    const stopMs = Date.now() - stopping;
    const result: SlurmRound = {
      round,
      startup,
      newStepFirstByteMs: firstBytes.firstByteMs as number[],
      http1,
      serveHttp1,
      http8,
      warmPageSteps,
      downloadFront,
      downloadRelay: relay.mbPerSecond as number,
      downloadSrun: srun.mbPerSecond as number,
      stopMs,
    };
    context.log(
      `slurm round ${round}: page in ${startup.totalMs.toFixed(0)} ms; new step ${result.newStepFirstByteMs.map((v) => v.toFixed(0)).join('/')} ms; p50 ${http1?.p50Ms.toFixed(2) ?? '-'} ms (serve ${serveHttp1?.p50Ms.toFixed(3) ?? '-'}); warm page: ${warmPageSteps} steps; download front ${downloadFront.toFixed(1)}, relay ${result.downloadRelay.toFixed(1)}, srun ${result.downloadSrun.toFixed(1)} MB/s`,
    );
    return result;
  } finally {
    await proc.stop();
  }
}

// The whole section: a cluster and a user of its own, `settings.repeats` rounds.
export async function runSlurmSection(context: RoundContext, bytes: number): Promise<SlurmResults> {
  const cluster = await startSlurmCluster();
  const user = createUser('bench');
  try {
    const home = cluster.makeUserDir(user, `${user.name}-home`);
    const dataDir = cluster.makeUserDir(user, `${user.name}-data`);
    const workDir = cluster.makeUserDir(user, `${user.name}-work`);
    const bench: Bench = {
      cluster,
      user,
      env: { ...cluster.env, HOME: home, XDG_DATA_HOME: dataDir },
      workDir,
      dataDir,
    };
    const rounds: SlurmRound[] = [];
    for (let round = 1; round <= context.settings.repeats; round++) {
      rounds.push(await runRound(bench, context, round, bytes));
    }
    return { clusterStartMs: cluster.startMs, downloadBytes: bytes, rounds };
  } finally {
    await cluster.stop();
    removeUser(user);
  }
}
