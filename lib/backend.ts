import type { EventEmitter } from 'node:events';

export type BackendState = 'stopped' | 'starting' | 'running' | 'stopping';

/** The request rserver answered with a redirect to its sign-in page, as far as a sign-in needs it. */
export interface SignInRequest {
  /**
   * The headers the adapter sends rserver for this client (Host, X-Forwarded-Proto/-Host/-For,
   * X-RStudio-Root-Path…): rserver builds its cookies' path and Secure flag from them.
   */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The client's Cookie header, if any. */
  cookie?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** A sign-in made on the user's behalf: rserver's Set-Cookie lines, for the browser. */
export interface SignInCookies {
  setCookie: readonly string[];
}

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
  /**
   * Optional: signs the browser in on the user's behalf. An rserver without --www-socket runs
   * with a password nobody types (isolation `namespace` or `password`); the adapter calls this
   * when rserver sends a browser to its sign-in page, and hands the cookies to the browser with
   * a redirect back. Resolves undefined when the running rserver signs browsers in by itself.
   */
  signIn?(request: SignInRequest): Promise<SignInCookies | undefined>;
}
