import { EventEmitter } from 'node:events';
import type { Backend, BackendState } from '../../lib/backend.js';
import { RSessionProxyError } from '../../lib/errors.js';

// A Backend whose starts the test finishes by hand: `ready()` resolves the pending start,
// `fail()` rejects it, `crash()` makes it a backend between runs. Starts are single flight.
export class FakeBackend extends EventEmitter implements Backend {
  state: BackendState = 'stopped';
  lastError: Error | undefined;
  /** How many starts began (not how many callers joined one). */
  starts = 0;
  /** Signals passed by callers, to check that waits are abandoned. */
  signals: (AbortSignal | undefined)[] = [];
  #pending:
    | {
        resolve: (value: { socketPath: string }) => void;
        reject: (error: Error) => void;
        promise: Promise<{ socketPath: string }>;
      }
    | undefined;
  #startedListeners: (() => void)[] = [];

  constructor(public socketPath: string) {
    super();
  }

  ensureRunning(options: { signal?: AbortSignal } = {}): Promise<{ socketPath: string }> {
    this.signals.push(options.signal);
    if (this.state === 'running') return Promise.resolve({ socketPath: this.socketPath });
    if (!this.#pending) {
      this.starts += 1;
      let resolve!: (value: { socketPath: string }) => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<{ socketPath: string }>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#pending = { resolve, reject, promise };
      this.#setState('starting');
      for (const listener of this.#startedListeners.splice(0)) listener();
    }
    return this.#pending.promise;
  }

  /** Resolves once a start has begun (at once if one is pending). */
  whenStarting(): Promise<void> {
    if (this.#pending) return Promise.resolve();
    return new Promise((resolve) => this.#startedListeners.push(resolve));
  }

  ready(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    this.#setState('running');
    pending?.resolve({ socketPath: this.socketPath });
  }

  fail(message = 'rserver exited with code 1 before it was ready: ERROR boom'): void {
    const pending = this.#pending;
    this.#pending = undefined;
    this.lastError = new RSessionProxyError('EUNAVAILABLE', message);
    this.#setState('stopped');
    pending?.reject(this.lastError);
  }

  crash(state: BackendState = 'starting'): void {
    this.lastError = new Error('rserver was killed by SIGKILL');
    this.#setState(state);
  }

  #setState(state: BackendState): void {
    this.state = state;
    this.emit('state', state);
  }
}
