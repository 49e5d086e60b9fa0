import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import { RSessionProxyError } from '../errors.js';
import { createBackendAgent } from './agent.js';
import type { Exchange } from './exchange.js';
import { stripResponseHopByHop } from './forwarded.js';
import { REDIRECT_STATUSES, rewriteLocation } from './location.js';
import type { NormalizedOptions } from './options.js';
import { linkSockets } from './websocket.js';

/** What the request and upgrade handlers share: one http-proxy, one agent, one bookkeeping. */
export interface AdapterCore {
  readonly options: NormalizedOptions;
  readonly proxy: httpProxy;
  /** Exchanges by the request http-proxy hands back in its events. */
  readonly exchanges: WeakMap<IncomingMessage, Exchange>;
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
  const proxy = httpProxy.createProxyServer({ agent, xfwd: false, prependPath: false });
  const exchanges = new WeakMap<IncomingMessage, Exchange>();
  const live = new Set<Exchange>();
  const sockets = new WeakMap<Duplex, Exchange>();
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

  // http-proxy throws from emit('error') when nobody listens; every call passes its own
  // callback, so this only catches what slips past them.
  proxy.on('error', (error, req) => {
    report(new RSessionProxyError('EBACKEND', error.message, { cause: error }), req);
  });

  proxy.on('proxyReq', (proxyReq: ClientRequest, req: IncomingMessage) => {
    const exchange = exchanges.get(req);
    if (!exchange) return;
    exchange.proxyReq = proxyReq;
    keepExactPath(exchange, proxyReq);
    watchSilence(exchange, proxyReq, options.proxyTimeout);
    if (exchange.gone.signal.aborted) proxyReq.destroy();
  });

  proxy.on('proxyRes', (proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse) => {
    const exchange = exchanges.get(req);
    if (!exchange) return;
    exchange.proxyRes = proxyRes;
    touch();
    prepareResponseHeaders(exchange, proxyRes);
    // A download that takes longer than the idle timeout is still someone using RStudio.
    // (http-proxy pipes proxyRes right after this event, before any data can flow.)
    proxyRes.on('data', touch);
    // rserver went away mid-body: the client must see the connection end, not wait forever.
    proxyRes.once('close', () => {
      if (proxyRes.complete || exchange.gone.signal.aborted) return;
      report(
        new RSessionProxyError('EBACKEND', 'RStudio broke off its answer.', {
          path: exchange.socketPath,
        }),
        req,
      );
      res.destroy();
    });
  });

  proxy.on('proxyReqWs', (proxyReq: ClientRequest, req: IncomingMessage, socket: Socket) => {
    const exchange = exchanges.get(req);
    if (!exchange) return;
    exchange.proxyReq = proxyReq;
    keepExactPath(exchange, proxyReq);
    watchSilence(exchange, proxyReq, options.proxyTimeout);
    proxyReq.once('response', (proxyRes: IncomingMessage) => {
      exchange.responded = true;
      prepareResponseHeaders(exchange, proxyRes);
    });
    proxyReq.once('upgrade', (_proxyRes: IncomingMessage, proxySocket: Socket) => {
      exchange.upgraded = true;
      exchange.proxySocket = proxySocket;
      sockets.set(proxySocket, exchange);
      if (socket.destroyed || exchange.gone.signal.aborted) proxySocket.destroy();
      else linkSockets(socket, proxySocket);
    });
    if (socket.destroyed) proxyReq.destroy();
  });

  // Emitted once http-proxy has piped the two sockets together: counting frames from here on
  // cannot take data away from the pipes.
  proxy.on('open', (proxySocket: Socket) => {
    const exchange = sockets.get(proxySocket);
    if (!exchange?.client) return;
    proxySocket.on('data', touch);
    exchange.client.on('data', touch);
  });

  return {
    options,
    proxy,
    exchanges,
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
      agent.destroy();
      proxy.close();
      await Promise.all(closing.flat());
    },
  };
}

// rserver's redirects are built from its view of the request (RSERVER.md §4); they are made to
// point where the client can follow them before http-proxy copies the headers.
function prepareResponseHeaders(exchange: Exchange, proxyRes: IncomingMessage): void {
  stripResponseHopByHop(proxyRes.headers);
  const location = proxyRes.headers.location;
  if (
    exchange.location !== undefined &&
    typeof location === 'string' &&
    REDIRECT_STATUSES.has(proxyRes.statusCode ?? 0)
  ) {
    proxyRes.headers.location = rewriteLocation(location, exchange.location);
  }
}

// http-proxy joins paths with a helper that collapses `//` and turns `http:/` into `http://`;
// rserver is given the path exactly as the client sent it (minus the prefix). The request line is
// written on the first write, after this event, except for `Expect: 100-continue` requests,
// which http-proxy announces with no event. Node's own check on paths applies here too.
function keepExactPath(exchange: Exchange, proxyReq: ClientRequest): void {
  if (!proxyReq.headersSent && /^[\x21-\xff]+$/.test(exchange.backendPath)) {
    proxyReq.path = exchange.backendPath;
  }
}

// A backend that says nothing for `ms` is given up on (504); 0 means wait as long as it takes.
// Long polls answer well within the default hour.
function watchSilence(exchange: Exchange, proxyReq: ClientRequest, ms: number): void {
  if (ms === 0) return;
  proxyReq.setTimeout(ms, () => {
    exchange.timedOut = true;
    proxyReq.destroy();
  });
}

// Every request goes to rserver's socket and nowhere else, whatever its request line or Host
// says. (http-proxy's types want a host and port; Node ignores them when socketPath is set.)
export function getBackendTarget(socketPath: string) {
  return { socketPath, host: 'localhost', port: 80 };
}

// Ends everything an exchange opened; resolves when each of its streams has closed.
export function destroyExchange(exchange: Exchange): Promise<void>[] {
  exchange.gone.abort();
  const streams = [
    exchange.proxyReq?.socket,
    exchange.proxySocket,
    exchange.client,
    exchange.res?.socket,
  ].filter((stream): stream is Socket | Duplex => stream != null);
  exchange.proxyReq?.destroy();
  exchange.proxyRes?.destroy();
  exchange.proxySocket?.destroy();
  exchange.client?.destroy();
  exchange.res?.destroy();
  return streams.map(whenClosed);
}

function whenClosed(stream: Duplex): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => stream.once('close', () => resolve()));
}
