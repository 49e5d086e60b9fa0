import type { IncomingMessage } from 'node:http';
import { RSessionProxyError } from '../errors.js';
import { BackendAgent } from './agent.js';
import { createEngine, type Engine } from './engine.js';
import { destroyExchange, type Exchange } from './exchange.js';
import type { NormalizedOptions } from './options.js';
import { createSilenceWatch, type SilenceWatch } from './silence.js';
import { noticeProgress } from './progress.js';

/** What the request and upgrade handlers share: one engine, one pool, one bookkeeping. */
export interface AdapterCore {
  readonly options: NormalizedOptions;
  /** Keep-alive connections to rserver, opened where the backend says. */
  readonly agent: BackendAgent;
  /** The http-proxy server every request and upgrade goes through. */
  readonly engine: Engine;
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

// The state of one adapter, made once by createProxyAdapter.
export function createCore(options: NormalizedOptions): AdapterCore {
  const agent = new BackendAgent();
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

  const core: AdapterCore = {
    options,
    agent,
    get engine() {
      return engine;
    },
    silence,
    live,
    get closed() {
      return closed;
    },
    get lastActivity() {
      if (noticeProgress(live)) touch();
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
  // The engine's hooks find the adapter's state through `core`.
  const engine = createEngine(core, agent);
  return core;
}
