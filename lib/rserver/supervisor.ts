import { EventEmitter } from 'node:events';
import { lstat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { Backend, BackendState, SignInCookies, SignInRequest } from '../backend.js';
import { RSessionProxyError, isRSessionProxyError } from '../errors.js';
import {
  countAfterRun,
  getRestartDelay,
  normalizeBackoff,
  type Backoff,
  type BackoffOptions,
} from './backoff.js';
import { findRServer } from './find.js';
import { resolveInstanceLayout, type InstanceLayout } from '../instance/layout.js';
import { cleanSockets, openLayout, type OpenInstance } from '../instance/open.js';
import {
  normalizeLaunchOptions,
  type LaunchOptions,
  type NormalizedLaunchOptions,
} from './options.js';
import type { Isolation } from './isolation.js';
import { probeRServer } from './probe.js';
import { detectIsolationFor } from './resolve-isolation.js';
import { throwIfAborted } from './exit-errors.js';
import type { RServerExit, RServerProcess } from './running.js';
import { isProcessAlive } from '../proc.js';
import { detectSandbox } from './sandbox-detect.js';
import { startRServer } from './start.js';

export interface SupervisorOptions extends LaunchOptions {
  /** How often to check that the socket and the instance directory still exist, in ms; default 2 000. */
  watchInterval?: number | undefined;
  /** How long to wait before a start after crashes in a row (backoff.ts). */
  backoff?: BackoffOptions | undefined;
}

export interface SupervisorStatus {
  state: BackendState;
  pid: number | undefined;
  socketPath: string;
  /** When the running rserver became ready. */
  readySince: Date | undefined;
  /** Starts after the first one. */
  restarts: number;
  lastError: string | undefined;
  /** What keeps other users away from the running rserver (or the last one). */
  isolation?: Isolation | undefined;
}

/**
 * Runs rserver on demand for one instance: `ensureRunning()` starts it (concurrent callers share
 * one start) and resolves once it answers; a crash sends it back to `stopped` (event `crash`)
 * and the next `ensureRunning()` starts a new one. It holds the instance lock from the first
 * start until `close()`. After crashes in a row, a start first waits (in state `starting`): at
 * once after one crash, then 1 s, 2 s, 4 s… up to 30 s. A start that fails is not retried by
 * the supervisor: whoever asked is told why. Events: `state` (BackendState),
 * `ready` ({ pid, socketPath }), `crash` (RSessionProxyError).
 */
export class Supervisor extends EventEmitter implements Backend {
  readonly #options: NormalizedLaunchOptions;
  readonly #watchInterval: number;
  readonly #backoff: Backoff;
  /** Runs that crashed in a row (a run that lasted starts the count again). */
  #crashes = 0;
  readonly layout: InstanceLayout;
  #state: BackendState = 'stopped';
  #instance: OpenInstance | undefined;
  #opening: Promise<OpenInstance> | undefined;
  #rserver: RServerProcess | undefined;
  #endpoint: { readonly socketPath: string } | undefined;
  #readySince: Date | undefined;
  #starting: Promise<RServerProcess> | undefined;
  /** A lost instance being closed: nothing may open it again before. */
  #losing: Promise<void> | undefined;
  #startAbort: AbortController | undefined;
  #stopping: Promise<void> | undefined;
  #closed = false;
  #starts = 0;
  #lastError: Error | undefined;
  #watch: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;
  /** The running check was made for a refused connection. */
  #checkingRefused = false;
  /** A refused connection's check, made once the watch's running check is done. */
  #refusedAfter: Promise<void> | undefined;
  #isolation: Isolation | undefined;

  constructor(options: SupervisorOptions = {}) {
    super();
    this.#options = normalizeLaunchOptions(options);
    this.#watchInterval = options.watchInterval ?? 2000;
    this.#backoff = normalizeBackoff(options.backoff);
    this.layout = resolveInstanceLayout(this.#options.instance);
  }

  get state(): BackendState {
    return this.#state;
  }

  get lastError(): Error | undefined {
    return this.#lastError;
  }

  get rserver(): RServerProcess | undefined {
    return this.#rserver;
  }

  get status(): SupervisorStatus {
    return {
      state: this.#state,
      pid: this.#rserver?.pid,
      socketPath: this.layout.socketPath,
      readySince: this.#readySince,
      restarts: Math.max(0, this.#starts - 1),
      lastError: this.#lastError?.message,
      isolation: this.#isolation,
    };
  }

  // The isolation a start would get now (rserver probed, the namespaces tried, all cached), so
  // that a server can say what protects RStudio before its first request starts it.
  async getIsolation(): Promise<Isolation> {
    return (await detectIsolationFor(this.#options)).isolation;
  }

  // Signs a browser in at the running rserver with its launch's password (Backend.signIn);
  // undefined when rserver signs browsers in by itself.
  async signIn(request: SignInRequest): Promise<SignInCookies | undefined> {
    const rserver = this.#rserver;
    if (rserver === undefined || this.#state !== 'running') {
      throw new RSessionProxyError('EUNAVAILABLE', 'RStudio is restarting: no sign-in now.');
    }
    return rserver.signIn?.(request);
  }

  #setState(state: BackendState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }

  // Creates the instance's private directories and takes its lock without starting rserver, for
  // a server that must own the instance before its first request (a second one then fails at
  // once with ELOCKED). ensureRunning() does this itself when needed.
  async open(): Promise<InstanceLayout> {
    if (this.#closed) throw new RSessionProxyError('ECLOSED', 'The supervisor was closed.');
    // The lock of a lost instance is still ours until it is closed: opening before would find
    // it held (ELOCKED, naming this very process).
    await this.#losing;
    if (this.#instance) return this.#instance.layout;
    this.#opening ??= openLayout(this.layout, {
      ...this.#options,
      onCompromised: (error) => this.#lose(error),
    }).finally(() => (this.#opening = undefined));
    this.#instance = await this.#opening;
    this.#probeAhead();
    return this.#instance.layout;
  }

  // Learning what rserver supports runs it twice (--help, --version), and setpriv and unshare
  // once each; a server that opens the instance before its first request has that done by then,
  // rather than making the first request wait for it (npm run bench). The results are cached;
  // a failed probe is not kept, and the start runs it again and reports it.
  #probeAhead(): void {
    detectSandbox(this.#options.env).catch(() => undefined);
    try {
      const rserver = findRServer({ rserver: this.#options.rserver, env: this.#options.env });
      probeRServer(rserver).catch(() => undefined);
    } catch {
      // no rserver: the first start says so
    }
  }

  async ensureRunning(
    options: { signal?: AbortSignal | undefined } = {},
  ): Promise<{ socketPath: string }> {
    if (this.#closed) throw new RSessionProxyError('ECLOSED', 'The supervisor was closed.');
    if (this.#rserver && this.#state === 'running') return this.#endpointOf(this.#rserver);
    this.#starting ??= this.#start().finally(() => (this.#starting = undefined));
    const rserver = await abortable(this.#starting, options.signal);
    return this.#endpointOf(rserver);
  }

  // One object for as long as the socket's path stays the same: every request asks, and the
  // adapter's pool then sees the same endpoint without comparing (lib/proxy/agent.ts).
  #endpointOf(rserver: RServerProcess): { readonly socketPath: string } {
    if (this.#endpoint?.socketPath !== rserver.socketPath) {
      this.#endpoint = Object.freeze({ socketPath: rserver.socketPath });
    }
    return this.#endpoint;
  }

  async #start(): Promise<RServerProcess> {
    await this.#stopping;
    // One that died and is still being cleaned up (check() saw it): its cleanup removes the
    // socket and the data directory, which must not be the next one's.
    await this.#rserver?.exited;
    this.#setState('starting');
    const abort = new AbortController();
    this.#startAbort = abort;
    try {
      await this.#waitBackoff(abort.signal);
      const probe = await probeRServer(
        findRServer({ rserver: this.#options.rserver, env: this.#options.env }),
      );
      // A stop meanwhile (a lost instance's among them) waits for this start: open() must not
      // wait for that stop in turn.
      throwIfAborted(abort.signal);
      await this.open();
      throwIfAborted(abort.signal);
      // The directory checked at open must still be the one rserver is about to use.
      this.#instance?.verify();
      this.#starts++;
      const rserver = await startRServer({
        options: this.#options,
        layout: this.layout,
        probe,
        signal: abort.signal,
        afterStop: () => cleanSockets(this.layout),
      });
      rserver.once('exit', (exit: RServerExit) => this.#onExit(rserver, exit));
      this.#rserver = rserver;
      this.#isolation = rserver.isolation;
      this.#readySince = new Date();
      this.#lastError = undefined;
      this.#setState('running');
      this.#startWatch();
      this.emit('ready', { pid: rserver.pid, socketPath: rserver.socketPath });
      return rserver;
    } catch (error) {
      this.#lastError = isRSessionProxyError(error, 'EABORTED')
        ? new RSessionProxyError(
            'ECLOSED',
            'The supervisor was stopped while rserver was starting.',
          )
        : (error as Error);
      this.#setState('stopped');
      throw this.#lastError;
    } finally {
      this.#startAbort = undefined;
    }
  }

  // The wait the backoff asks for before this start; the reason of the last failure stays in
  // `lastError` meanwhile, so that requests answered during the wait say why.
  async #waitBackoff(signal: AbortSignal): Promise<void> {
    const wait = getRestartDelay(this.#crashes, this.#backoff);
    if (wait === 0) return;
    this.#options.logger?.({
      level: 'warn',
      source: 'rsession-proxy',
      message: `rserver crashed ${this.#crashes} times in a row: starting it again in ${Math.round(wait / 100) / 10} s`,
    });
    await delay(wait, undefined, { signal, ref: false }).catch(() => undefined);
    throwIfAborted(signal);
  }

  #onExit(rserver: RServerProcess, exit: RServerExit): void {
    if (this.#rserver !== rserver) return;
    const ranMs = Date.now() - (this.#readySince?.getTime() ?? Date.now());
    this.#crashes = countAfterRun(this.#crashes, ranMs, exit.error !== undefined, this.#backoff);
    this.#rserver = undefined;
    this.#readySince = undefined;
    this.#stopWatch();
    if (exit.error) {
      this.#lastError = exit.error;
      this.#setState('stopped');
      this.emit('crash', exit.error);
    }
  }

  // The socket or the instance directory vanished (a tmp cleaner), or the lock was taken: stop
  // rserver, say why, and let the next ensureRunning() rebuild the instance from scratch.
  #lose(error: RSessionProxyError): void {
    const instance = this.#instance;
    this.#instance = undefined;
    this.#lastError = error;
    // At once, so that the requests failing meanwhile are told rserver is restarting, and why.
    if (this.#state === 'running') this.#setState('stopping');
    const losing: Promise<void> = this.stop()
      .then(() => instance?.close().catch(() => undefined))
      .finally(() => {
        if (this.#losing === losing) this.#losing = undefined;
      });
    this.#losing = losing;
    void losing.then(() => this.emit('crash', error));
  }

  #startWatch(): void {
    this.#stopWatch();
    this.#watch = setInterval(() => void this.#shareCheck(false), this.#watchInterval);
    this.#watch.unref();
  }

  #stopWatch(): void {
    clearInterval(this.#watch);
    this.#watch = undefined;
  }

  // Checks at once what the watch checks every few seconds; the proxy calls it when a connection
  // to the socket fails.
  check(): Promise<void> {
    return this.#shareCheck(true);
  }

  // rserver has died and its exit is not reported yet: its socket refuses connections, and
  // requests are to be told that it restarts, not that it is unreachable. Its exit may have been
  // reported meanwhile, which says more.
  #seeEnded(rserver: RServerProcess): void {
    if (this.#state !== 'running' || this.#rserver !== rserver) return;
    this.#lastError = new RSessionProxyError(
      'ERSERVERCRASHED',
      `rserver (pid ${rserver.pid}) has exited; it is started again.`,
      { pid: rserver.pid },
    );
    this.#setState('stopping');
  }

  // Concurrent callers share one check. A refused connection needs a check that gives a dying
  // rserver its moment: one that comes while the watch's own check runs waits for it, then
  // makes its own (shared by the refusals that come meanwhile).
  #shareCheck(refused: boolean): Promise<void> {
    if (refused && this.#checking !== undefined && !this.#checkingRefused) {
      this.#refusedAfter ??= this.#checking
        .then(() => this.#shareCheck(true))
        .finally(() => (this.#refusedAfter = undefined));
      return this.#refusedAfter;
    }
    if (this.#checking === undefined) {
      this.#checkingRefused = refused;
      this.#checking = this.#check(refused).finally(() => (this.#checking = undefined));
    }
    return this.#checking;
  }

  // `refused`: a connection to the socket was just refused. rserver's end closes its socket a
  // moment before the process is seen dead, and a request in that moment is to be told that
  // rserver restarts, not that it is unreachable: a process still alive is given a moment.
  async #check(refused: boolean): Promise<void> {
    if (this.#state !== 'running') return;
    const rserver = this.#rserver;
    // rserver that has exited removes its socket before its exit is reported (once what it
    // started has been ended, in the namespace up to the grace period): that is a crash, which
    // its exit reports, not a temporary-file cleaner; meanwhile requests are told it restarts.
    if (rserver?.exitStatus !== undefined) {
      this.#seeEnded(rserver);
      return;
    }
    // Refused by a socket that is there (not removed by a cleaner): rserver may be ending.
    const ending =
      refused &&
      (await lstat(this.layout.socketPath).then(
        () => true,
        () => false,
      ));
    if (rserver && !(await isStillAlive(rserver.pid, ending ? DYING_GRACE_MS : 0))) {
      this.#seeEnded(rserver);
      return;
    }
    const exited = () => this.#rserver?.exitStatus !== undefined;
    for (const [path, what] of [
      [this.layout.dir, 'instance directory'],
      [this.layout.socketPath, 'socket'],
    ] as const) {
      try {
        await lstat(path);
      } catch {
        // The state may have changed while lstat ran.
        if ((this.#state as BackendState) !== 'running' || exited()) return;
        this.#lose(
          new RSessionProxyError(
            'ERSERVERCRASHED',
            `The ${what} ${path} disappeared while rserver was running (a temporary-file cleaner?); rserver was stopped and will be started again.`,
            { path },
          ),
        );
        return;
      }
    }
  }

  // Stops rserver and every process it started; the lock stays held, and the next
  // ensureRunning() starts rserver again.
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#startAbort?.abort();
      await this.#starting?.catch(() => undefined);
      const rserver = this.#rserver;
      this.#stopWatch();
      if (rserver) {
        this.#setState('stopping');
        await rserver.stop();
        if (this.#rserver === rserver) this.#rserver = undefined;
        this.#readySince = undefined;
      }
      this.#setState('stopped');
    })().finally(() => (this.#stopping = undefined));
    return this.#stopping;
  }

  // Stops rserver and releases the instance: nothing is left, and the supervisor cannot start
  // rserver again.
  async close(): Promise<void> {
    this.#closed = true;
    await this.stop();
    const instance = this.#instance;
    this.#instance = undefined;
    await instance?.close();
  }
}

export function createSupervisor(options: SupervisorOptions = {}): Supervisor {
  return new Supervisor(options);
}

// Waits for a shared promise, but lets one caller stop waiting without cancelling it for others.
/** How long a refused connection waits for an rserver that is still alive to be seen dead. */
const DYING_GRACE_MS = 500;

// Whether the process is alive, and still after up to `graceMs` (polled: its death is seen as
// soon as it is a zombie, before its exit is reported).
async function isStillAlive(pid: number, graceMs: number): Promise<boolean> {
  const deadline = Date.now() + graceMs;
  while (isProcessAlive(pid)) {
    if (Date.now() >= deadline) return true;
    await delay(25, undefined, { ref: false });
  }
  return false;
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () =>
      reject(
        new RSessionProxyError('EABORTED', 'Waiting for rserver was cancelled.', {
          cause: signal.reason,
        }),
      );
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
