import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';

export type BackendState = 'stopped' | 'starting' | 'running' | 'stopping';

/** rserver listens on this Unix socket (what the supervisor and createFixedBackend resolve to). */
export interface SocketEndpoint {
  readonly socketPath: string;
}

/**
 * rserver is reached through connections that only the backend knows how to open: a Slurm job
 * step, an ssh channel, a socket in another mount namespace.
 */
export interface ConnectionFactory {
  /**
   * Opens one new connection to rserver's HTTP server. A `net.Socket` is used as it is; any other
   * Duplex is wrapped by the adapter (an idle timeout, no-op keep-alive). A failure is an 'error'
   * on the stream, or a throw.
   */
  connect(): Duplex;
  /**
   * What the connections go to, for error messages, e.g. `srun --jobid=4242 (node017)`. The
   * adapter keeps its pooled connections while the backend resolves to endpoints with the same
   * description, and closes them when it changes.
   */
  readonly description: string;
}

/** Where ensureRunning() says rserver can be reached. */
export type BackendEndpoint = SocketEndpoint | ConnectionFactory;

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
 * (concurrent callers share one start) and resolves once rserver answers, to where it answers.
 */
export interface Backend extends EventEmitter {
  ensureRunning(options?: { signal?: AbortSignal }): Promise<BackendEndpoint>;
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
   * Optional: what a start is waiting for, in a line or two (e.g. `job 12345 pending (Priority),
   * 0:41 in the queue`), shown on the starting page a browser gets meanwhile.
   */
  readonly progress?: string | undefined;
  /**
   * Optional: signs the browser in on the user's behalf. An rserver without --www-socket runs
   * with a password nobody types (isolation `namespace` or `password`); the adapter calls this
   * when rserver sends a browser to its sign-in page, and hands the cookies to the browser with
   * a redirect back. Resolves undefined when the running rserver signs browsers in by itself.
   */
  signIn?(request: SignInRequest): Promise<SignInCookies | undefined>;
}

// Whether an endpoint is a socket path rather than a connection factory.
export function isSocketEndpoint(endpoint: BackendEndpoint): endpoint is SocketEndpoint {
  return typeof (endpoint as Partial<SocketEndpoint>).socketPath === 'string';
}

// How error messages name an endpoint: its socket's path, or the factory's description.
export function describeEndpoint(endpoint: BackendEndpoint): string {
  return isSocketEndpoint(endpoint) ? endpoint.socketPath : endpoint.description;
}
