import { EventEmitter } from 'node:events';
import type { SignInCookies, SignInRequest } from '../backend.js';
import type { RSessionProxyError } from '../errors.js';
import { listProcesses } from '../process-tree.js';
import { createCrashError, type ExitStatus } from './exit-errors.js';
import type { Isolation } from './isolation.js';
import type { LineTail } from './line-tail.js';
import { decodeSandboxExit, type Sandbox } from './sandbox.js';
import { findSandboxProcesses } from './sandbox-processes.js';
import type { SpawnedProcess } from './spawn.js';
import { stopRServerTree } from './stop.js';

export interface RServerExit {
  code: number | null;
  signal: string | null;
  /** Set when rserver ended without being asked to: the crash, with its stderr tail. */
  error: RSessionProxyError | undefined;
}

/** A running rserver. Emits `exit` (RServerExit) once. */
export interface RServerProcess extends EventEmitter {
  /** rserver's pid, as this process sees it (in a PID namespace rserver sees itself as 2). */
  readonly pid: number;
  readonly socketPath: string;
  readonly rootPath: string;
  readonly startedAt: Date;
  /** The last lines rserver wrote. */
  readonly stderrTail: readonly string[];
  /** What keeps other users away from this rserver (isolation.ts). */
  readonly isolation: Isolation;
  /**
   * Signs a browser in with this launch's password (isolation `namespace` and `password`);
   * undefined when rserver signs browsers in by itself.
   */
  readonly signIn: ((request: SignInRequest) => Promise<SignInCookies>) | undefined;
  /** Resolves when the rserver process has exited, however it ended. */
  readonly exited: Promise<RServerExit>;
  /** How the rserver process ended, once it has (undefined while it runs). */
  readonly exitStatus: ExitStatus | undefined;
  /** Stops rserver and every process it started; resolves when all are gone. */
  stop(): Promise<void>;
}

/** Something a start set up beside rserver (the watchdog, a relay, slirp4netns, the password). */
export interface Attachment {
  /** Ends it once rserver and its processes are gone; never rejects on its own failure. */
  stop(): Promise<void>;
}

export interface RunningInput {
  spawned: SpawnedProcess;
  sandbox: Sandbox;
  /** Stopped after rserver's processes, the last first. */
  attachments: readonly Attachment[];
  tail: LineTail;
  isolation: Isolation;
  signIn: ((request: SignInRequest) => Promise<SignInCookies>) | undefined;
  socketPath: string;
  rootPath: string;
  /** The environment entries that mark the instance's processes (instance/marker.ts). */
  markers: readonly string[];
  stopTimeout: number;
  /** Runs after every stop, requested or not: removes sockets, releases what the caller holds. */
  afterStop?: (() => Promise<void>) | undefined;
}

// The running-process object: how rserver ended (a requested stop, or a crash once it was
// ready), stopping it once however often asked, and its pid as this process sees it.
export class RunningRServer extends EventEmitter implements RServerProcess {
  readonly socketPath: string;
  readonly rootPath: string;
  readonly startedAt = new Date();
  readonly exited: Promise<RServerExit>;
  readonly isolation: Isolation;
  readonly signIn: ((request: SignInRequest) => Promise<SignInCookies>) | undefined;
  readonly #input: RunningInput;
  #rserverPid: number | undefined;
  #stopping: Promise<void> | undefined;
  #exitStatus: ExitStatus | undefined;
  #ready = false;

  constructor(input: RunningInput) {
    super();
    this.#input = input;
    this.socketPath = input.socketPath;
    this.rootPath = input.rootPath;
    this.isolation = input.isolation;
    this.signIn = input.signIn;
    this.exited = input.spawned.exit.then(
      (raw) =>
        new Promise((resolve) => {
          const status = decodeSandboxExit(input.sandbox.kind, raw.code, raw.signal);
          this.#exitStatus = status;
          const crashed = this.#ready && !this.#stopping;
          // Lines still in the pipe arrive just after the exit; a crash is reported after
          // cleanup, so that whoever restarts rserver finds no leftover process or socket.
          setImmediate(() => {
            const error = crashed ? createCrashError(this.pid, status, this.stderrTail) : undefined;
            void (crashed ? this.stop() : Promise.resolve()).then(() => {
              const exit = { ...status, error };
              resolve(exit);
              this.emit('exit', exit);
            });
          });
        }),
    );
    // The exit promise must not count as unhandled while nobody awaits it.
    this.exited.catch(() => undefined);
  }

  // What callers show and signal as rserver: its own pid once located.
  get pid(): number {
    return this.#rserverPid ?? this.#input.spawned.pid;
  }

  // rserver's own pid: the spawned process itself, or, in a PID namespace, found below it (in
  // /proc) and kept; until found, the spawned process's.
  locate(): number {
    if (this.#rserverPid === undefined && this.#exitStatus === undefined) {
      const { sandbox, spawned } = this.#input;
      this.#rserverPid = findSandboxProcesses(sandbox.kind, spawned.pid, listProcesses()).rserver
        ?.pid;
    }
    return this.pid;
  }

  get stderrTail(): readonly string[] {
    return this.#input.tail.lines;
  }

  /** How the spawned process ended, once it has. */
  get exitStatus(): ExitStatus | undefined {
    return this.#exitStatus;
  }

  // From now on an exit that nobody asked for is a crash; rserver's pid is known by then.
  markReady(): void {
    this.#ready = true;
    this.locate();
  }

  // One stop however often asked (a requested stop, a crash's cleanup, a failed start).
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  // The processes first, what was attached to them (the watchdog, which must not outlive
  // rserver; a relay; slirp4netns; the password) next, the caller's cleanup (sockets, lock) last.
  async #stop(): Promise<void> {
    const { spawned, sandbox, markers, stopTimeout } = this.#input;
    await stopRServerTree({
      leader: spawned.pid,
      kind: sandbox.kind,
      markers,
      exited: spawned.exit,
      hasExited: () => this.#exitStatus !== undefined,
      grace: stopTimeout,
    });
    for (const attachment of [...this.#input.attachments].reverse()) {
      await attachment.stop().catch(() => undefined);
    }
    await this.#input.afterStop?.();
  }
}
