import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type httpProxy from 'http-proxy';
import { RSessionProxyError } from '../errors.js';
import type { Exchange } from './exchange.js';
import { stripResponseHopByHop } from './forwarded.js';
import { REDIRECT_STATUSES, rewriteLocation } from './location.js';
import { linkSockets } from './websocket.js';

export interface ProxyEventContext {
  exchanges: WeakMap<IncomingMessage, Exchange>;
  proxyTimeout: number;
  touch: () => void;
  report: (error: RSessionProxyError, req: IncomingMessage) => void;
}

// Hooks into http-proxy's events, where each exchange gets what http-proxy does not do: the
// exact path, the silence timeout, rewritten redirects, a cut connection when rserver breaks
// off, WebSocket sockets tied together, and activity counted.
export function listenToProxy(proxy: httpProxy, context: ProxyEventContext): void {
  const { exchanges, proxyTimeout, touch, report } = context;
  const sockets = new WeakMap<Duplex, Exchange>();

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
    watchSilence(exchange, proxyReq, proxyTimeout);
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
    watchSilence(exchange, proxyReq, proxyTimeout);
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
