import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import {
  buildBackendHeaders,
  formatOrigin,
  getBackendHosts,
  getClientOrigin,
  type ClientOrigin,
  type RequestFacts,
} from './forwarded.js';
import type { LocationContext } from './location.js';

/** One request or WebSocket on its way through the adapter, and what it has opened. */
export interface Exchange {
  req: IncomingMessage;
  prefix: string;
  /** The origin-form target rserver receives (prefix removed). */
  backendPath: string;
  /** The client left or the adapter closed: waits stop, the backend side ends. */
  gone: boolean;
  /** Aborted when the exchange goes; made only when something waits on it (a start). */
  goneController?: AbortController;
  /** What the forwarding headers were built from; redirects are rewritten from the same. */
  facts?: RequestFacts;
  origin?: ClientOrigin;
  socketPath?: string;
  proxyReq?: ClientRequest;
  proxyRes?: IncomingMessage;
  /** Plain requests only: the response to the client. */
  res?: ServerResponse;
  /** WebSocket only: the client's socket, rserver's socket after the 101. */
  client?: Duplex;
  proxySocket?: Duplex;
  /** Date.now() when bytes last went to or came from rserver (see silence.ts). */
  heardAt: number;
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
    gone: false,
    heardAt: 0,
    timedOut: false,
    upgraded: false,
    responded: false,
  };
}

// Whether the client left or the adapter closed; a function, so that a check after an await is
// not mistaken for the same check before it.
export function isGone(exchange: Exchange): boolean {
  return exchange.gone;
}

export function markGone(exchange: Exchange): void {
  exchange.gone = true;
  exchange.goneController?.abort();
}

// A signal for waits that must stop when the exchange goes. Most requests never wait (rserver
// is running), so the controller is made on demand rather than for every request.
export function getGoneSignal(exchange: Exchange): AbortSignal {
  exchange.goneController ??= new AbortController();
  if (exchange.gone) exchange.goneController.abort();
  return exchange.goneController.signal;
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
  exchange.facts = facts;
  exchange.origin = origin;
  return buildBackendHeaders(facts, { origin, prefix: exchange.prefix, trustProxy, upgrade });
}

// What rewriting a redirect needs, worked out only for a redirect: most answers are not, and
// the host names rserver could have used cost a system call to list.
export function getLocationContext(exchange: Exchange): LocationContext | undefined {
  const { facts, origin } = exchange;
  if (facts === undefined || origin === undefined) return undefined;
  return {
    origin: formatOrigin(origin),
    prefix: exchange.prefix,
    backendPath: exchange.backendPath,
    backendHosts: getBackendHosts(facts, origin),
  };
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

// Ends everything an exchange opened; resolves when each of its streams has closed.
export function destroyExchange(exchange: Exchange): Promise<void>[] {
  markGone(exchange);
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
