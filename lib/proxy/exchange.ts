import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import {
  buildBackendHeaders,
  formatOrigin,
  getBackendHosts,
  getClientOrigin,
  type RequestFacts,
} from './forwarded.js';
import type { LocationContext } from './location.js';

/** One request or WebSocket on its way through the adapter, and what it has opened. */
export interface Exchange {
  req: IncomingMessage;
  prefix: string;
  /** The origin-form target rserver receives (prefix removed). */
  backendPath: string;
  /** Aborted when the client leaves or the adapter closes: stops waits, ends the backend side. */
  gone: AbortController;
  location?: LocationContext;
  socketPath?: string;
  proxyReq?: ClientRequest;
  proxyRes?: IncomingMessage;
  /** Plain requests only: the response to the client. */
  res?: ServerResponse;
  /** WebSocket only: the client's socket, rserver's socket after the 101. */
  client?: Duplex;
  proxySocket?: Duplex;
  timedOut: boolean;
  /** WebSocket only: rserver answered 101, or answered something else that is being relayed. */
  upgraded: boolean;
  responded: boolean;
}

export function createExchange(
  req: IncomingMessage,
  prefix: string,
  backendPath: string,
): Exchange {
  return {
    req,
    prefix,
    backendPath,
    gone: new AbortController(),
    timedOut: false,
    upgraded: false,
    responded: false,
  };
}

// Whether the client left or the adapter closed; a function, so that a check after an await is
// not mistaken for the same check before it.
export function isGone(exchange: Exchange): boolean {
  return exchange.gone.signal.aborted;
}

export function getRequestFacts(req: IncomingMessage): RequestFacts {
  const socket = req.socket as Partial<TLSSocket> | undefined;
  return {
    headers: req.headers,
    encrypted: socket?.encrypted === true,
    remoteAddress: socket?.remoteAddress,
    localAddress: socket?.localAddress,
    localPort: socket?.localPort,
  };
}

// Works out the client's origin once per exchange: it feeds both the forwarding headers sent to
// rserver and the Location rewriting on the way back, so the two always agree.
export function prepareForward(
  exchange: Exchange,
  trustProxy: boolean,
  upgrade: boolean,
): Record<string, string | string[]> {
  const facts = getRequestFacts(exchange.req);
  const origin = getClientOrigin(facts, trustProxy);
  exchange.location = {
    origin: formatOrigin(origin),
    prefix: exchange.prefix,
    backendPath: exchange.backendPath,
    backendHosts: getBackendHosts(facts, origin),
  };
  return buildBackendHeaders(facts, { origin, prefix: exchange.prefix, trustProxy, upgrade });
}

// http-proxy reads the target and headers from `req` synchronously when a request starts; they
// are swapped in for that call only, so the embedding server's request object is left as it was.
export function withBackendView(
  req: IncomingMessage,
  url: string,
  headers: Record<string, string | string[]>,
  start: () => void,
): void {
  const saved = { url: req.url, headers: req.headers };
  req.url = url;
  req.headers = headers;
  try {
    start();
  } finally {
    req.url = saved.url;
    req.headers = saved.headers;
  }
}

// The target as the client sent it: Express rewrites `req.url` under a mount path and keeps the
// original in `originalUrl`.
export function getClientTarget(req: IncomingMessage): string {
  const original = (req as { originalUrl?: unknown }).originalUrl;
  return typeof original === 'string' ? original : (req.url ?? '');
}

// Express's mount path, when the adapter is mounted with app.use('/rstudio', ...).
export function getMountPath(req: IncomingMessage): string | undefined {
  const baseUrl = (req as { baseUrl?: unknown }).baseUrl;
  return typeof baseUrl === 'string' ? baseUrl.replace(/\/+$/, '') : undefined;
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
