import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { createInterface } from 'node:readline';
import { RSessionProxyError } from '../errors.js';
import { getRServerLineLevel } from '../logger.js';
import { getCurrentUser } from '../users.js';
import { INSTANCE_MARKER } from '../instance/marker.js';
import type { InstanceLayout } from '../instance/layout.js';
import { stopLeftovers } from '../instance/leftovers.js';
import {
  findMarkedProcesses,
  getDescendants,
  listProcesses,
  terminateProcesses,
  type ProcessEntry,
} from '../process-tree.js';
import { buildRServerArgs, buildRServerEnv } from './arguments.js';
import { findR } from './find.js';
import { getSetprivPrefix } from './setpriv.js';
import { explainRServerFailure } from './known-errors.js';
import { LineTail } from './line-tail.js';
import type { NormalizedLaunchOptions } from './options.js';
import type { RServerProbe } from './probe.js';
import { waitForHttp } from './readiness.js';

export interface RServerExit {
  code: number | null;
  signal: string | null;
  /** Set when rserver ended without being asked to: the crash, with its stderr tail. */
  error: RSessionProxyError | undefined;
}

/** A running rserver. Emits `exit` (RServerExit) once. */
export interface RServerProcess extends EventEmitter {
  readonly pid: number;
  readonly socketPath: string;
  readonly rootPath: string;
  readonly startedAt: Date;
  /** The last lines rserver wrote. */
  readonly stderrTail: readonly string[];
  /** Resolves when the rserver process has exited, however it ended. */
  readonly exited: Promise<RServerExit>;
  /** Stops rserver and every process it started; resolves when all are gone. */
  stop(): Promise<void>;
}

export interface StartRServerInput {
  options: NormalizedLaunchOptions;
  layout: InstanceLayout;
  probe: RServerProbe;
  signal?: AbortSignal | undefined;
  /** Runs after every stop, requested or not: removes sockets, releases what the caller holds. */
  afterStop?: (() => Promise<void>) | undefined;
}

// "exit code 1" / "signal SIGKILL"
function describeExit(code: number | null, signal: string | null): string {
  return signal ? `signal ${signal}` : `code ${code ?? 'unknown'}`;
}

function withTail(
  message: string,
  tail: readonly string[],
): { message: string; hint: string | undefined } {
  const known = explainRServerFailure(tail);
  const last = known?.line ?? tail.findLast((line) => line.trim() !== '');
  return {
    message: last ? `${message}: ${last}` : `${message} (it printed nothing)`,
    hint: known?.hint,
  };
}

// Cancelling a start is reported like every other failure: one error class, its own code.
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new RSessionProxyError('EABORTED', 'The start of rserver was cancelled.', {
      cause: signal.reason,
    });
  }
}

// Starts rserver on the instance's socket and resolves once it answers HTTP there. Rejects
// with ERSERVEREXITED (with the exit status, the stderr tail and a hint for known failures),
// ERSERVERTIMEOUT or EABORTED, leaving no process and no socket behind.
export async function startRServer(input: StartRServerInput): Promise<RServerProcess> {
  const { options, layout, probe } = input;
  const user = getCurrentUser().name;
  const args = buildRServerArgs(
    {
      socketPath: layout.socketPath,
      rootPath: options.rootPath,
      user,
      dataDir: layout.dataDir,
      databaseConfigFile: layout.databaseConfigFile,
      cookieKeyFile: layout.cookieKeyFile,
      frameOrigin: options.frameOrigin,
      r: findR(options),
      threadPoolSize: options.threadPoolSize,
      extraArgs: options.extraArgs,
    },
    probe.options,
  );
  const env = buildRServerEnv(options.env, { user, marker: layout.dir });
  const [setpriv, ...setprivArgs] = getSetprivPrefix(options.env);
  const log = options.logger;
  await stopLeftovers(layout.dir, options);
  throwIfAborted(input.signal);
  log?.({
    level: 'info',
    source: 'rsession-proxy',
    message: `starting rserver ${probe.path}${probe.version ? ` (${probe.version})` : ''}`,
  });
  log?.({
    level: 'debug',
    source: 'rsession-proxy',
    message: `starting ${probe.path} ${args.join(' ')}`,
  });

  // node:child_process rather than execa: execa's module graph alone is ~10 MB of RSS in every
  // process that serves RStudio (npm run bench, docs/benchmarks.md).
  const child = spawn(
    setpriv ?? probe.path,
    setpriv ? [...setprivArgs, probe.path, ...args] : args,
    {
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  if (child.pid === undefined) {
    const [error] = (await once(child, 'error')) as [Error];
    throw new RSessionProxyError(
      'ERSERVEREXITED',
      `rserver could not be started: ${error.message}`,
      {
        path: probe.path,
        cause: error,
      },
    );
  }
  return new RunningRServer(child, child.pid, input, log).waitUntilReady();
}

class RunningRServer extends EventEmitter implements RServerProcess {
  readonly pid: number;
  readonly socketPath: string;
  readonly rootPath: string;
  readonly startedAt = new Date();
  readonly exited: Promise<RServerExit>;
  readonly #tail = new LineTail(50);
  readonly #input: StartRServerInput;
  #stopping: Promise<void> | undefined;
  #exitStatus: { code: number | null; signal: string | null } | undefined;
  #ready = false;

  constructor(
    child: ChildProcess,
    pid: number,
    input: StartRServerInput,
    log: NormalizedLaunchOptions['logger'],
  ) {
    super();
    this.pid = pid;
    this.#input = input;
    this.socketPath = input.layout.socketPath;
    this.rootPath = input.options.rootPath;
    // Failing to signal it is handled by the pid-based stop below; the event must not throw.
    child.on('error', () => undefined);
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        this.#tail.push(line);
        log?.({ level: getRServerLineLevel(line), source: 'rserver', message: line });
      });
    }
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exitStatus = { code, signal };
        const crashed = this.#ready && !this.#stopping;
        // Lines still in the pipe arrive just after 'exit'; a crash is reported after cleanup,
        // so that whoever restarts rserver finds no leftover process or socket.
        setImmediate(() => {
          const error = crashed ? this.#crashError() : undefined;
          void (crashed ? this.stop() : Promise.resolve()).then(() => {
            const exit = { code, signal, error };
            resolve(exit);
            this.emit('exit', exit);
          });
        });
      });
    });
    // The exit promise must not count as unhandled while nobody awaits it.
    this.exited.catch(() => undefined);
  }

  get stderrTail(): readonly string[] {
    return this.#tail.lines;
  }

  #crashError(): RSessionProxyError {
    const { code, signal } = this.#exitStatus ?? { code: null, signal: null };
    const tail = this.#tail.lines;
    const { message, hint } = withTail(
      `rserver (pid ${this.pid}) exited with ${describeExit(code, signal)} while running`,
      tail,
    );
    return new RSessionProxyError('ERSERVERCRASHED', message, {
      pid: this.pid,
      exitCode: code,
      signal,
      stderr: tail,
      ...(hint && { hint }),
    });
  }

  async waitUntilReady(): Promise<this> {
    const { options } = this.#input;
    const exited = new AbortController();
    void this.exited.then(() => exited.abort());
    const signals = [exited.signal, ...(this.#input.signal ? [this.#input.signal] : [])];
    const ready = await waitForHttp(this.socketPath, {
      timeout: options.timeout,
      signal: AbortSignal.any(signals),
    });
    if (ready && this.#exitStatus === undefined) {
      this.#ready = true;
      const seconds = ((Date.now() - this.startedAt.getTime()) / 1000).toFixed(1);
      this.#input.options.logger?.({
        level: 'info',
        source: 'rsession-proxy',
        message: `rserver ready (pid ${this.pid}) in ${seconds} s`,
      });
      return this;
    }
    const tail = () => this.#tail.lines;
    if (this.#exitStatus === undefined && this.#input.signal?.aborted) {
      await this.stop();
      throwIfAborted(this.#input.signal);
    }
    if (this.#exitStatus === undefined) {
      await this.stop();
      const seconds = Math.round(options.timeout / 100) / 10;
      const { message, hint } = withTail(
        `rserver (pid ${this.pid}) did not answer on ${this.socketPath} within ${seconds} s`,
        tail(),
      );
      throw new RSessionProxyError('ERSERVERTIMEOUT', message, {
        pid: this.pid,
        stderr: tail(),
        hint:
          hint ??
          'Start-up can take long on a busy host: raise --timeout (RSERVER_TIMEOUT, in seconds).',
      });
    }
    const { code, signal } = this.#exitStatus;
    await this.exited;
    await this.stop();
    const { message, hint } = withTail(
      `rserver exited with ${describeExit(code, signal)} before it was ready`,
      tail(),
    );
    throw new RSessionProxyError('ERSERVEREXITED', message, {
      pid: this.pid,
      exitCode: code,
      signal,
      stderr: tail(),
      ...(hint && { hint }),
    });
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  // SIGTERM to rserver's process group, SIGKILL after the grace period, then every process it
  // started — found in the parent tree collected before signalling, and by the instance marker
  // for those that left the group or were re-parented — gets the same treatment.
  async #stop(): Promise<void> {
    const { options, layout } = this.#input;
    const processes = listProcesses();
    const self = processes.find((entry) => entry.pid === this.pid);
    const others = new Map<number, ProcessEntry>();
    for (const entry of [
      ...getDescendants(this.pid, processes),
      ...findMarkedProcesses(INSTANCE_MARKER, layout.dir, processes),
    ]) {
      if (entry.pid !== this.pid) others.set(entry.pid, entry);
    }
    if (self && this.#exitStatus === undefined) {
      signalGroup(this.pid, 'SIGTERM');
      if (!(await settlesWithin(this.exited, options.stopTimeout))) {
        signalGroup(this.pid, 'SIGKILL');
        await this.exited;
      }
    }
    const grace = Math.min(options.stopTimeout, 2000);
    await terminateProcesses([...others.values()], grace);
    // A child may have started another while we were stopping.
    await terminateProcesses(findMarkedProcesses(INSTANCE_MARKER, layout.dir), grace);
    await this.#input.afterStop?.();
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
    } catch {
      // already gone
    }
  }
}

// Whether `promise` settles within `ms`; the timer is cleared either way.
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
