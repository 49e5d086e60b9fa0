import type { Agent, IncomingMessage } from 'node:http';
import { RSessionProxyError } from '../errors.js';
import { createBackendAgent } from './agent.js';
import { destroyExchange, type Exchange } from './exchange.js';
import type { NormalizedOptions } from './options.js';
import { createSilenceWatch, type SilenceWatch } from './silence.js';

/** What the request and upgrade handlers share: one connection pool, one bookkeeping. */
export interface AdapterCore {
  readonly options: NormalizedOptions;
  /** Keep-alive connections to rserver's socket. */
  readonly agent: Agent;
  /** Gives up on requests rserver stays silent on for `proxyTimeout`. */
  readonly silence: SilenceWatch;
  /** Exchanges still open, for close(). */
  readonly live: Set<Exchange>;
  readonly closed: boolean;
  readonly lastActivity: number;
  readonly touch: () => void;
  report(error: RSessionProxyError, req: IncomingMessage): void;
  /** Starts rserver without waiting; a failure is kept for the next page load to show. */
  startInBackground(req: IncomingMessage): void;
  takeStartFailure(): RSessionProxyError | undefined;
  close(): Promise<void>;
}

export function createCore(options: NormalizedOptions): AdapterCore {
  const agent = createBackendAgent();
  const silence = createSilenceWatch(options.proxyTimeout);
  const live = new Set<Exchange>();
  let lastActivity = Date.now();
  let closed = false;
  let startFailure: RSessionProxyError | undefined;
  let watchingStart = false;

  const touch = () => {
    lastActivity = Date.now();
  };
  // The embedding server's logger must never break the proxying.
  const report = (error: RSessionProxyError, req: IncomingMessage) => {
    try {
      options.onError(error, req);
    } catch {
      // a throwing onError is the embedder's bug; the request is answered regardless
    }
  };

  return {
    options,
    agent,
    silence,
    live,
    get closed() {
      return closed;
    },
    get lastActivity() {
      return lastActivity;
    },
    touch,
    report,
    startInBackground(req) {
      // Every reload of the starting page lands here; one watched start is enough.
      if (watchingStart) return;
      watchingStart = true;
      options.backend
        .ensureRunning()
        .finally(() => {
          watchingStart = false;
        })
        .then(
          () => {
            startFailure = undefined;
          },
          (cause: unknown) => {
            const message = cause instanceof Error ? cause.message : String(cause);
            startFailure = new RSessionProxyError(
              'EUNAVAILABLE',
              `RStudio could not be started: ${message}`,
              { cause },
            );
            report(startFailure, req);
          },
        );
    },
    takeStartFailure() {
      const failure = startFailure;
      startFailure = undefined;
      return failure;
    },
    async close() {
      if (closed) return;
      closed = true;
      const closing = [...live].map(destroyExchange);
      live.clear();
      silence.close();
      agent.destroy();
      await Promise.all(closing.flat());
    },
  };
}
