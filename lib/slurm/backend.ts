import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { BackendState, ConnectionFactory } from '../backend.js';
import { RSessionProxyError, type ErrorCode } from '../errors.js';
import { resolveInstanceLayout, type InstanceLayout } from '../instance/layout.js';
import { openLayout, type OpenInstance } from '../instance/open.js';
import { normalizeInstanceOptions } from '../instance/options.js';
import type { StatusJob } from '../instance/status.js';
import type { ServedBackend, ServedStatus } from '../serve/served-backend.js';
import { getUid } from '../private-dir.js';
import { buildBatchScript } from './batch-script.js';
import { cancelJob } from './cancel.js';
import {
  ensureJobDir,
  getJobLogFile,
  getSpillDir,
  readJobLogTail,
  readJobRecord,
  readNodeReport,
  removeJobRecord,
  removeSpillDirs,
  type JobDir,
  type JobRecord,
  type NodeReport,
} from './job-dir.js';
import { hasEnded, readJob, type JobInfo } from './job-info.js';
import { describeEnd, describeRunning, describeWaiting } from './job-messages.js';
import { watchJob, type JobWatch } from './job-watch.js';
import {
  normalizeSlurmOptions,
  type NormalizedSlurmOptions,
  type SlurmBackendOptions,
} from './options.js';
import { probeThroughStep } from './probe.js';
import { openStepConnection, type StepConnection } from './step-connection.js';
import { submitJob } from './submit.js';

export type { SlurmBackendOptions } from './options.js';

/** What the backend is doing, for a terminal, a log, or a page (event `progress`). */
export type SlurmProgress =
  | { kind: 'submitted'; jobId: string; message: string }
  | { kind: 'attached'; jobId: string; job: JobInfo; message: string }
  | { kind: 'waiting'; jobId: string; job: JobInfo; message: string }
  | { kind: 'running'; jobId: string; job: JobInfo; message: string }
  | { kind: 'ready'; jobId: string; node: string; socketPath: string; message: string }
  | { kind: 'ended'; jobId: string; job: JobInfo | undefined; message: string }
  | { kind: 'resubmitting'; jobId: string; message: string }
  | { kind: 'cancelling'; jobId: string; message: string }
  | { kind: 'cancelled'; jobId: string; message: string };

/** The job that serves the instance, as far as the login side knows it. */
interface CurrentJob {
  record: JobRecord;
  info: JobInfo | undefined;
  report: NodeReport | undefined;
}

const ERROR_CODES = new Set<string>([
  'EINVALIDOPTION',
  'ENOTPRIVATE',
  'EPATHTOOLONG',
  'ELOCKED',
  'ERSERVERNOTFOUND',
  'ERSERVERPROBE',
  'ERSERVERTOOOLD',
  'ERSERVEREXITED',
  'ERSERVERTIMEOUT',
  'ERSERVERCRASHED',
  'EISOLATION',
]);

/** How often Slurm is asked about a job while RStudio runs in it, besides the watching step. */
const RUNNING_POLL_MS = 30_000;

/**
 * RStudio in a Slurm job, as the proxy's backend. `ensureRunning()` submits the job (or attaches
 * to the one a killed login side left), waits in the queue, waits for `rsession-proxy exec` in
 * the job to report rserver ready, checks that RStudio answers through a job step, and resolves
 * to a connection factory whose every connection is one step (`srun --overlap … relay`). The
 * adapter's pool keeps them alive and reuses them. The job ending by itself is noticed at once
 * (a step that watches it ends): the backend goes back to `stopped` with `lastError` saying
 * why, and the next `ensureRunning()` submits one new job (unless `resubmit` is false). `stop()`
 * and `close()` cancel the job and wait until Slurm reports it gone.
 * Events: `state`, `progress` (SlurmProgress), `ready`, `crash` (the job ended by itself).
 */
export class SlurmBackend extends EventEmitter implements ServedBackend {
  readonly #options: NormalizedSlurmOptions;
  readonly layout: InstanceLayout;
  #state: BackendState = 'stopped';
  #instance: OpenInstance | undefined;
  #jobDir: JobDir | undefined;
  #job: CurrentJob | undefined;
  #endpoint: ConnectionFactory | undefined;
  #watch: JobWatch | undefined;
  #poll: NodeJS.Timeout | undefined;
  #starting: Promise<ConnectionFactory> | undefined;
  #startAbort: AbortController | undefined;
  #stopping: Promise<void> | undefined;
  #closed = false;
  #cancelling = false;
  #submissions = 0;
  #steps = 0;
  #readySince: Date | undefined;
  #lastError: Error | undefined;
  /** How the last job ended by itself, said again while the next one starts. */
  #lastEnd: string | undefined;
  #progress: (() => string) | undefined;
  /** The relay said once that chunk files are off (a full quota): said once here too. */
  #saidSpillOff = false;

  constructor(options: SlurmBackendOptions = {}) {
    super();
    this.#options = normalizeSlurmOptions(options);
    this.layout = resolveInstanceLayout(
      normalizeInstanceOptions({
        instance: this.#options.instance,
        runtimeDir: this.#options.runtimeDir,
        env: this.#options.env,
      }),
    );
  }

  get state(): BackendState {
    return this.#state;
  }

  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** The job's id, once there is one. */
  get jobId(): string | undefined {
    return this.#job?.record.jobId;
  }

  // "your RStudio job 12345 ended: CANCELLED at 14:02 — starting a new one", then what the new
  // start waits for ("job 12346 pending (Priority), 0:03 in the queue").
  get progress(): string | undefined {
    if (this.#state === 'running') return undefined;
    const lines: string[] = [];
    if (this.#lastEnd !== undefined) {
      lines.push(this.#starting ? `${this.#lastEnd} — starting a new one` : this.#lastEnd);
    }
    const now = this.#progress?.();
    if (now !== undefined) lines.push(now);
    return lines.length > 0 ? lines.join('\n') : undefined;
  }

  get status(): ServedStatus {
    return {
      kind: 'slurm',
      state: this.#state,
      pid: undefined,
      socketPath: this.#job?.report?.socket ?? '',
      readySince: this.#readySince,
      restarts: Math.max(0, this.#submissions - 1),
      lastError: this.#lastError?.message,
      job: this.#describeJob(),
    };
  }

  #describeJob(): StatusJob | undefined {
    const job = this.#job;
    if (!job) return undefined;
    return {
      id: job.record.jobId,
      state: job.info?.state ?? 'PENDING',
      reason: job.info?.reason,
      node: job.report?.node ?? job.info?.batchHost,
      endsAt: job.info?.state === 'RUNNING' ? job.info.endsAt?.toISOString() : undefined,
      socket: job.report?.socket,
      steps: this.#steps,
    };
  }

  #setState(state: BackendState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }

  #report(progress: SlurmProgress): void {
    this.emit('progress', progress);
    this.emit('status');
  }

  // The login side's instance: its private directory (where serve listens) and its lock, so
  // that two login sides never serve, submit or cancel for one instance; and the job directory.
  async open(): Promise<InstanceLayout> {
    if (this.#closed) throw new RSessionProxyError('ECLOSED', 'The Slurm backend was closed.');
    if (this.#instance) return this.#instance.layout;
    const instance = await openLayout(this.layout, {
      logger: this.#options.logger,
      stopTimeout: this.#options.stopTimeout,
      onCompromised: (error) => {
        this.#lastError = error;
        void this.stop();
      },
    });
    try {
      this.#jobDir = await ensureJobDir(this.#options.instance, undefined);
    } catch (error) {
      await instance.close();
      throw error;
    }
    this.#instance = instance;
    return instance.layout;
  }

  async ensureRunning(
    options: { signal?: AbortSignal | undefined } = {},
  ): Promise<ConnectionFactory> {
    if (this.#closed) throw new RSessionProxyError('ECLOSED', 'The Slurm backend was closed.');
    if (this.#endpoint && this.#state === 'running') return this.#endpoint;
    if (!this.#starting && this.#lastEnd !== undefined && !this.#options.resubmit) {
      throw this.#lastError ?? new RSessionProxyError('EJOBENDED', this.#lastEnd);
    }
    this.#starting ??= this.#start().finally(() => (this.#starting = undefined));
    return waitUnlessAborted(this.#starting, options.signal);
  }

  // Everything between "no job" and "RStudio answers through a step", in order. What it says
  // first it says synchronously, so that the page that began it can already show it.
  async #start(): Promise<ConnectionFactory> {
    this.#setState('starting');
    const resubmitting = this.#lastEnd !== undefined;
    this.#progress = resubmitting ? undefined : () => 'submitting a job to Slurm';
    const abort = new AbortController();
    this.#startAbort = abort;
    try {
      await this.#stopping;
      await this.open();
      const jobDir = this.#requireJobDir();
      const job = (await this.#attach()) ?? (await this.#submit(jobDir, resubmitting));
      this.#job = job;
      const running = await this.#waitForRunning(job, abort.signal);
      const report = await this.#waitForReport(jobDir, job, running, abort.signal);
      const endpoint = this.#makeEndpoint(running, report);
      this.#progress = () =>
        `job ${running.id} running on ${report.node}: checking that RStudio answers`;
      await probeThroughStep(() => endpoint.connect());
      abort.signal.throwIfAborted();
      this.#endpoint = endpoint;
      this.#readySince = new Date();
      this.#lastError = undefined;
      this.#lastEnd = undefined;
      this.#progress = undefined;
      this.#startWatching(running, report);
      this.#setState('running');
      const ready = { jobId: running.id, node: report.node, socketPath: report.socket ?? '' };
      this.#sayIsolation(report);
      this.emit('ready', ready);
      this.#report({ kind: 'ready', ...ready, message: `RStudio answered on ${report.node}` });
      return endpoint;
    } catch (error) {
      const failure = abort.signal.aborted
        ? new RSessionProxyError('ECLOSED', 'The Slurm backend was stopped while the job started.')
        : (error as Error);
      // A job that cannot serve is not left holding a node; stop() cancels it itself.
      if (!abort.signal.aborted) await this.#cancelQuietly();
      this.#lastError = failure;
      this.#progress = undefined;
      this.#setState('stopped');
      throw failure;
    } finally {
      this.#startAbort = undefined;
    }
  }

  // What keeps other users of the node away from RStudio, as the job found it: said here too,
  // where the user looks, with a warning when it is only a password.
  #sayIsolation(report: NodeReport): void {
    const log = this.#options.logger;
    if (report.isolation === undefined || log === undefined) return;
    const source = 'rsession-proxy';
    log({ level: 'info', source, message: `isolation on ${report.node}: ${report.isolation}` });
    for (const message of report.warnings ?? []) log({ level: 'warn', source, message });
  }

  #requireJobDir(): JobDir {
    if (!this.#jobDir) throw new RSessionProxyError('ECLOSED', 'The Slurm backend is not open.');
    return this.#jobDir;
  }

  // The job a killed login side left, when Slurm still runs (or queues) it and it is provably
  // ours: recorded in our private directory, and Slurm names it as ours, with the same name.
  async #attach(): Promise<CurrentJob | undefined> {
    if (this.#job) return undefined;
    const jobDir = this.#requireJobDir();
    const record = await readJobRecord(jobDir);
    if (!record) return undefined;
    const info = await readJob(record.jobId, this.#options.slurmEnv);
    if (!info || hasEnded(info.state) || info.uid !== getUid() || info.name !== record.name) {
      await removeJobRecord(jobDir);
      return undefined;
    }
    this.#report({
      kind: 'attached',
      jobId: info.id,
      job: info,
      message: `attached to job ${info.id} (${info.state.toLowerCase()}), submitted earlier by this instance`,
    });
    return { record, info, report: undefined };
  }

  async #submit(jobDir: JobDir, resubmitting: boolean): Promise<CurrentJob> {
    const options = this.#options;
    if (resubmitting && this.#lastEnd) {
      this.#report({
        kind: 'resubmitting',
        jobId: this.#job?.record.jobId ?? '',
        message: `${this.#lastEnd} — starting a new one`,
      });
    }
    // No job of this instance runs now: chunk directories left by killed ones go.
    await removeSpillDirs(jobDir);
    const script = buildBatchScript({
      command: options.command,
      instance: options.instance,
      jobDir: jobDir.dir,
      rootPath: options.rootPath,
      rserver: options.rserver,
      r: options.r,
      isolation: options.isolation,
      timeout: options.timeout,
      extraArgs: options.extraArgs,
    });
    const record = await submitJob({
      instance: options.instance,
      jobDir,
      script,
      sbatchArgs: options.sbatchArgs,
      env: options.slurmEnv,
    });
    this.#submissions++;
    this.#report({
      kind: 'submitted',
      jobId: record.jobId,
      message: `submitted job ${record.jobId} (${record.name})`,
    });
    return { record, info: undefined, report: undefined };
  }

  // Polls Slurm until the job runs: each answer is progress (state, reason, time in the queue),
  // asked often at first (an idle cluster starts a job within a second) and less often the
  // longer the queue is.
  async #waitForRunning(job: CurrentJob, signal: AbortSignal): Promise<JobInfo> {
    const { jobId } = job.record;
    const submitted = Date.parse(job.record.submittedAt);
    for (let poll = 0; ; poll++) {
      signal.throwIfAborted();
      const info = await readJob(jobId, this.#options.slurmEnv);
      job.info = info;
      if (!info) {
        throw new RSessionProxyError('EJOBENDED', `Slurm no longer knows job ${jobId}.`);
      }
      if (hasEnded(info.state)) throw await this.#describeEarlyEnd(info);
      if (info.state === 'RUNNING') {
        this.#report({ kind: 'running', jobId, job: info, message: describeRunning(info) });
        return info;
      }
      this.#progress = () => describeWaiting(info, new Date());
      this.#report({
        kind: 'waiting',
        jobId,
        job: info,
        message: describeWaiting(info, new Date()),
      });
      const queued = Date.now() - submitted;
      const interval =
        queued < 60_000 ? Math.min(1000, 100 * 2 ** poll) : queued < 600_000 ? 5000 : 15_000;
      await delay(interval, undefined, { signal, ref: false });
    }
  }

  // Waits for `exec` in the job to say rserver is ready (or why it is not), asking Slurm now and
  // then whether the job still runs: a job that ends before it reports says why through Slurm
  // and its log.
  async #waitForReport(
    jobDir: JobDir,
    job: CurrentJob,
    running: JobInfo,
    signal: AbortSignal,
  ): Promise<NodeReport> {
    const node = running.batchHost ?? running.nodes ?? 'its node';
    this.#progress = () => `job ${running.id} running on ${node}: starting RStudio there`;
    const deadline = Date.now() + this.#options.readyTimeout;
    let nextJobCheck = Date.now() + 1000;
    for (;;) {
      signal.throwIfAborted();
      const report = await readNodeReport(jobDir);
      if (report?.jobId === running.id) {
        job.report = report;
        if (report.state === 'ready') return report;
        if (report.state === 'failed') throw describeNodeFailure(report);
      }
      if (Date.now() >= nextJobCheck) {
        nextJobCheck = Date.now() + 1000;
        const info = await readJob(running.id, this.#options.slurmEnv);
        job.info = info ?? job.info;
        if (!info || hasEnded(info.state)) throw await this.#describeEarlyEnd(info ?? running);
      }
      if (Date.now() > deadline) {
        throw new RSessionProxyError(
          'ESLURM',
          `Job ${running.id} runs on ${node}, but RStudio did not report ready in ${jobDir.reportFile} within ${Math.round(this.#options.readyTimeout / 1000)} s.`,
          {
            hint: `Is your home directory shared between this host and ${node}? The job's log: ${getJobLogFile(jobDir, running.id)}.`,
          },
        );
      }
      await delay(100, undefined, { signal, ref: false });
    }
  }

  // A job that ended before RStudio was ready: why, in Slurm's words and in the job's own last
  // lines (a missing node binary, a working directory the node does not have).
  async #describeEarlyEnd(info: JobInfo): Promise<RSessionProxyError> {
    const jobDir = this.#requireJobDir();
    const report = await readNodeReport(jobDir);
    if (report?.jobId === info.id && report.state === 'failed') return describeNodeFailure(report);
    const tail = await readJobLogTail(jobDir, info.id, 3);
    const said = tail.map(describeLogLine).filter((line) => line !== '');
    return new RSessionProxyError(
      'EJOBENDED',
      `${describeEnd(info, new Date())}, before RStudio started${said.length > 0 ? `: ${said.join(' / ')}` : ''}.`,
      { hint: `The job's log: ${getJobLogFile(jobDir, info.id)}.` },
    );
  }

  #makeEndpoint(running: JobInfo, report: NodeReport): ConnectionFactory {
    const jobId = running.id;
    const socketPath = report.socket ?? '';
    // srun picks the job's first node itself; only a job of several nodes needs telling which.
    const multiNode = running.nodes !== undefined && /[,[]/.test(running.nodes);
    const node = multiNode ? (running.batchHost ?? report.node) : undefined;
    const { command, slurmEnv, spill } = this.#options;
    const spillDir = spill ? getSpillDir(this.#requireJobDir(), jobId) : undefined;
    return {
      description: `srun --jobid=${jobId} (${report.node})`,
      connect: () => {
        this.#steps++;
        const step = openStepConnection({
          jobId,
          socketPath,
          command,
          node,
          env: slurmEnv,
          spillDir,
        });
        if (spillDir !== undefined) step.once('close', () => this.#sayHowSpilled(jobId, step));
        return step;
      },
    };
  }

  // What the file lane did for a connection, for --verbose; a lane the relay had to turn off
  // (a full quota, a read-only home) is the user's to know, once.
  #sayHowSpilled(jobId: string, step: StepConnection): void {
    const log = this.#options.logger;
    if (!log) return;
    const source = 'rsession-proxy';
    const off = step.stderrTail.find((line) => line.startsWith('relay: chunk files off'));
    if (off !== undefined && !this.#saidSpillOff) {
      this.#saidSpillOff = true;
      log({ level: 'warn', source, message: `${off} (job ${jobId})` });
    }
    const { chunks, bytes } = step.spilled;
    if (chunks === 0) return;
    log({
      level: 'debug',
      source,
      message: `a connection through job ${jobId} carried ${(step.bytesRead / 1e6).toFixed(1)} MB, ${(bytes / 1e6).toFixed(1)} MB of it in ${chunks} chunk files`,
    });
  }

  // Notices the job's end at once through a step that Slurm ends with the job, and every
  // RUNNING_POLL_MS through squeue besides, in case that step cannot run.
  #startWatching(running: JobInfo, report: NodeReport): void {
    void this.#stopWatching();
    const node =
      running.nodes !== undefined && /[,[]/.test(running.nodes) ? report.node : undefined;
    let quickEnds = 0;
    const watch = () => {
      // A watching step that keeps failing at once (srun gone, a site limit) is given up: the
      // poll below still notices the end, within RUNNING_POLL_MS.
      if (quickEnds >= 3) return;
      const started = Date.now();
      this.#steps++;
      this.#watch = watchJob({ jobId: running.id, node, env: this.#options.slurmEnv }, () => {
        quickEnds = Date.now() - started < 5000 ? quickEnds + 1 : 0;
        void this.#checkJob(running.id, watch);
      });
    };
    watch();
    this.#poll = setInterval(() => void this.#checkJob(running.id), RUNNING_POLL_MS);
    this.#poll.unref();
  }

  #stopWatching(): Promise<void> {
    clearInterval(this.#poll);
    this.#poll = undefined;
    const watch = this.#watch;
    this.#watch = undefined;
    return watch?.stop() ?? Promise.resolve();
  }

  // Asks Slurm how the job is doing: ended (now, or once it has finished COMPLETING) makes the
  // backend `stopped`; still running with its watching step gone starts another one.
  async #checkJob(jobId: string, restartWatch?: () => void): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.#job?.record.jobId !== jobId || this.#state !== 'running' || this.#cancelling)
        return;
      let info: JobInfo | undefined;
      try {
        info = await readJob(jobId, this.#options.slurmEnv);
      } catch {
        return; // slurmctld busy: the next poll asks again
      }
      if (!info || hasEnded(info.state)) {
        this.#onJobEnded(jobId, info);
        return;
      }
      if (this.#job.info) this.#job.info = info;
      if (info.state === 'RUNNING' && restartWatch) {
        if (attempt === 0) restartWatch();
        return;
      }
      if (!restartWatch) return;
      await delay(Math.min(250 * 2 ** attempt, 2000), undefined, { ref: false });
    }
  }

  #onJobEnded(jobId: string, info: JobInfo | undefined): void {
    if (this.#cancelling || this.#job?.record.jobId !== jobId) return;
    const message = info
      ? describeEnd(info, new Date())
      : `your RStudio job ${jobId} ended (Slurm no longer knows it)`;
    void this.#stopWatching();
    const jobDir = this.#jobDir;
    if (jobDir) {
      void removeJobRecord(jobDir);
      void rm(getSpillDir(jobDir, jobId), { recursive: true, force: true });
    }
    this.#endpoint = undefined;
    this.#readySince = undefined;
    if (this.#job.info && info) this.#job.info = info;
    this.#lastEnd = message;
    const error = new RSessionProxyError('EJOBENDED', message, {
      hint: this.#options.resubmit
        ? 'The next request submits a new job.'
        : 'Run the command again for a new one.',
    });
    this.#lastError = error;
    this.#setState('stopped');
    this.#report({ kind: 'ended', jobId, job: info, message });
    this.emit('crash', error);
  }

  // Checks the job at once (the adapter calls it when a connection fails).
  async check(): Promise<void> {
    const jobId = this.#job?.record.jobId;
    if (jobId !== undefined) await this.#checkJob(jobId);
  }

  // A job cancelled because its start failed: the error that failed it is what matters.
  async #cancelQuietly(): Promise<void> {
    await this.#cancel().catch(() => undefined);
  }

  // Cancels the job (a pending one too) and waits until Slurm reports it gone.
  async #cancel(): Promise<void> {
    const job = this.#job;
    if (!job) return;
    this.#cancelling = true;
    try {
      await this.#stopWatching();
      const { jobId } = job.record;
      const known = await readJob(jobId, this.#options.slurmEnv).catch(() => undefined);
      if (known && !hasEnded(known.state)) {
        this.#report({ kind: 'cancelling', jobId, message: `cancelling job ${jobId}` });
        await cancelJob(jobId, { env: this.#options.slurmEnv });
        this.#report({
          kind: 'cancelled',
          jobId,
          message: `job ${jobId} cancelled; Slurm reports it gone`,
        });
      }
      if (this.#jobDir) {
        await removeJobRecord(this.#jobDir);
        // The job's exec removes its chunk directory; one killed before it could is not left.
        await removeSpillDirs(this.#jobDir);
      }
      this.#job = undefined;
    } finally {
      this.#cancelling = false;
    }
  }

  // Cancels the job (a pending one, or a start under way, too) and waits until Slurm reports it
  // gone; the next ensureRunning() submits a new one.
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#startAbort?.abort();
      await this.#starting?.catch(() => undefined);
      this.#setState('stopping');
      this.#endpoint = undefined;
      this.#readySince = undefined;
      try {
        await this.#cancel();
      } finally {
        this.#setState('stopped');
      }
    })().finally(() => (this.#stopping = undefined));
    return this.#stopping;
  }

  // Cancels the job and releases the instance: nothing is left, here or on the node.
  async close(): Promise<void> {
    this.#closed = true;
    try {
      await this.stop();
    } finally {
      const instance = this.#instance;
      this.#instance = undefined;
      await instance?.close();
    }
  }
}

export function createSlurmBackend(options: SlurmBackendOptions = {}): SlurmBackend {
  return new SlurmBackend(options);
}

// The job's own words on why RStudio did not start (rserver missing, too old, failed), with
// the code the job reported when it is one of ours.
function describeNodeFailure(report: NodeReport): RSessionProxyError {
  const code: ErrorCode =
    report.code !== undefined && ERROR_CODES.has(report.code)
      ? (report.code as ErrorCode)
      : 'ESLURM';
  return new RSessionProxyError(
    code,
    `RStudio could not start in job ${report.jobId} on ${report.node}: ${report.message ?? 'no reason given'}`,
    { hint: report.hint },
  );
}

// A line of the job's log as a user reads it: exec logs JSON (its message), the rest as it is.
function describeLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const entry = JSON.parse(line) as { message?: unknown };
    return typeof entry.message === 'string' ? entry.message : line;
  } catch {
    return line;
  }
}

// Waits for a shared promise, but lets one caller stop waiting without cancelling it for others.
function waitUnlessAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () =>
      reject(new RSessionProxyError('EABORTED', 'Waiting for the Slurm job was cancelled.'));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
