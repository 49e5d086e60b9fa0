import type { EventEmitter } from 'node:events';

export type BackendState = 'stopped' | 'starting' | 'running' | 'stopping';

/**
 * What the proxy adapter needs from whatever runs rserver: the supervisor implements it, and a
 * fixed socket path is wrapped into one. `ensureRunning` starts rserver when it is not running
 * (concurrent callers share one start) and resolves once rserver answers on its socket.
 */
export interface Backend extends EventEmitter {
  ensureRunning(options?: { signal?: AbortSignal }): Promise<{ socketPath: string }>;
  readonly state: BackendState;
  /** Why the last start failed or the last run ended; shown in 502/503 answers. */
  readonly lastError: Error | undefined;
  /**
   * Optional: checks at once that the running rserver can still be reached (its socket is
   * there) and, when not, begins a restart with `lastError` saying why. The adapter calls it
   * when a connection to the socket fails.
   */
  check?(): Promise<void>;
}
