import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { BackendEndpoint } from '../backend.js';
import type { RSessionProxyError } from '../errors.js';
import type { ClientOrigin, RequestFacts } from './forwarded.js';
import { lingerAfterEnd } from './linger.js';
import type { SilenceWatch } from './silence.js';

/** One request or WebSocket on its way through the adapter, and what it has opened. */
export interface Exchange {
  /** The adapter's bookkeeping, for the listeners that find the exchange from a stream. */
  book: ExchangeBook;
  /** The client's request; let go of, like the streams, when the exchange is finished. */
  req: IncomingMessage | undefined;
  prefix: string;
  /** The origin-form target rserver receives (prefix removed), exactly as the client sent it. */
  backendPath: string;
  /** The client left or the adapter closed: waits stop, the backend side ends. */
  gone: boolean;
  /** Aborted when the exchange goes; made only when something waits on it (a start). */
  goneController: AbortController | undefined;
  /** What the forwarding headers were built from; redirects are rewritten from the same. */
  facts: RequestFacts | undefined;
  origin: ClientOrigin | undefined;
  endpoint: BackendEndpoint | undefined;
  proxyReq: ClientRequest | undefined;
  proxyRes: IncomingMessage | undefined;
  /** Plain requests only: the response to the client. */
  res: ServerResponse | undefined;
  /** WebSocket only: the client's socket, rserver's socket after the 101. */
  client: Duplex | undefined;
  proxySocket: Duplex | undefined;
  /** Date.now() when bytes last went to or came from rserver, and how many (silence.ts). */
  heardAt: number;
  heardBytes: number;
  /** The byte count lastActivity last saw (progress.ts). */
  seenBytes: number;
  timedOut: boolean;
  /** WebSocket only: rserver answered 101. */
  upgraded: boolean;
  /** WebSocket only: rserver answered something else, which is being relayed. */
  responded: boolean;
}

/** What the adapter tracks exchanges in: for close(), idle shutdown and the silence timeout. */
export interface ExchangeBook {
  readonly live: Set<Exchange>;
  readonly touch: () => void;
  readonly silence: SilenceWatch;
  report(error: RSessionProxyError, req: IncomingMessage): void;
}

// http-proxy hands back the client's request in its events; the exchange rides on it, and on
// the streams whose listeners need it (rserver's answer, a WebSocket's two sockets), under a key
// of our own. Listeners can then be functions made once rather than closures made per request, and a
// property is cheaper than a WeakMap for the garbage collector (no ephemeron per request).
const EXCHANGE = Symbol('rsession-proxy exchange');

interface Carrier {
  [EXCHANGE]?: Exchange;
}

// Starts an exchange for a request (`res`) or an upgrade (`client`) and ties its end to the
// client's: a client that leaves before the answer is complete takes the backend request with
// it (http-proxy 1.18.1 listens for 'aborted', which does not fire once the request has been
// read); after a 101, rserver's socket is ended gracefully, so that frames already queued
// still go out.
export function openExchange(
  book: ExchangeBook,
  req: IncomingMessage,
  prefix: string,
  backendPath: string,
  client: { res: ServerResponse } | { socket: Duplex },
): Exchange {
  // Every field from the start: one shape for every exchange, its properties in the object.
  const exchange: Exchange = {
    book,
    req,
    prefix,
    backendPath,
    gone: false,
    goneController: undefined,
    facts: undefined,
    origin: undefined,
    endpoint: undefined,
    proxyReq: undefined,
    proxyRes: undefined,
    res: undefined,
    client: undefined,
    proxySocket: undefined,
    heardAt: 0,
    heardBytes: 0,
    seenBytes: 0,
    timedOut: false,
    upgraded: false,
    responded: false,
  };
  attachExchange(req, exchange);
  book.live.add(exchange);
  if ('res' in client) {
    exchange.res = client.res;
    client.res.on('close', onResponseClose);
  } else {
    exchange.client = client.socket;
    attachExchange(client.socket, exchange);
    client.socket.on('close', onClientClose);
  }
  return exchange;
}

// `req` carries the exchange for its response too (ServerResponse.req).
function onResponseClose(this: ServerResponse): void {
  const exchange = getExchange(this.req);
  if (exchange === undefined) return;
  exchange.book.touch();
  if (!this.writableFinished) void destroyExchange(exchange);
  finishExchange(exchange);
}

function onClientClose(this: Duplex): void {
  const exchange = getExchange(this);
  if (exchange === undefined) return;
  exchange.book.touch();
  const { proxySocket } = exchange;
  if (!exchange.upgraded) {
    exchange.proxyReq?.destroy();
  } else if (proxySocket !== undefined && !proxySocket.destroyed) {
    proxySocket.end();
    lingerAfterEnd(proxySocket);
  }
  finishExchange(exchange);
}

// Once its client is done nothing more happens on an exchange: it lets go of its streams and
// they of it. Keep-alive connections hold on to their last request (its parser's `incoming`,
// a pooled socket's last request) until the next one; linked through the exchange, every
// finished request's objects stayed reachable from newer ones, and V8 copied or promoted them
// at every scavenge: 14% of the young generation survived instead of 1%, and scavenges took
// 4-7 ms instead of under 1 (--trace-gc-nvp, 20,000 requests at 32 connections): the adapter's
// tail under load.
function finishExchange(exchange: Exchange): void {
  markGone(exchange);
  exchange.book.live.delete(exchange);
  exchange.book.silence.unwatch(exchange);
  if (exchange.req) detachExchange(exchange.req);
  if (exchange.proxyRes) detachExchange(exchange.proxyRes);
  if (exchange.client) detachExchange(exchange.client);
  if (exchange.proxySocket) detachExchange(exchange.proxySocket);
  exchange.req = undefined;
  exchange.res = undefined;
  exchange.proxyReq = undefined;
  exchange.proxyRes = undefined;
  exchange.client = undefined;
  exchange.proxySocket = undefined;
  exchange.facts = undefined;
  exchange.origin = undefined;
}

// The exchange a request or a backend socket belongs to.
export function getExchange(carrier: object): Exchange | undefined {
  return (carrier as Carrier)[EXCHANGE];
}

export function attachExchange(carrier: object, exchange: Exchange): void {
  (carrier as Carrier)[EXCHANGE] = exchange;
}

function detachExchange(carrier: object): void {
  (carrier as Carrier)[EXCHANGE] = undefined;
}

// Whether the client left or the adapter closed; a function, so that a check after an await is
// not mistaken for the same check before it.
export function isGone(exchange: Exchange): boolean {
  return exchange.gone;
}

function markGone(exchange: Exchange): void {
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
