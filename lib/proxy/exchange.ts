import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { BackendEndpoint } from '../backend.js';
import type { ClientOrigin, RequestFacts } from './forwarded.js';

/** One request or WebSocket on its way through the adapter, and what it has opened. */
export interface Exchange {
  req: IncomingMessage;
  prefix: string;
  /** The origin-form target rserver receives (prefix removed), exactly as the client sent it. */
  backendPath: string;
  /** The client left or the adapter closed: waits stop, the backend side ends. */
  gone: boolean;
  /** Aborted when the exchange goes; made only when something waits on it (a start). */
  goneController?: AbortController;
  /** What the forwarding headers were built from; redirects are rewritten from the same. */
  facts?: RequestFacts;
  origin?: ClientOrigin;
  endpoint?: BackendEndpoint;
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
  /** WebSocket only: rserver answered 101. */
  upgraded: boolean;
  /** WebSocket only: rserver answered something else, which is being relayed. */
  responded: boolean;
}

/** What the adapter tracks exchanges in, for close() and idle shutdown. */
export interface ExchangeBook {
  readonly live: Set<Exchange>;
  readonly touch: () => void;
}

// http-proxy hands back the client's request (and, for 'open', rserver's socket) in its events;
// the exchange rides on them under a key of our own. A property is cheaper than a WeakMap for
// the garbage collector, which would otherwise trace an ephemeron per request.
const EXCHANGE = Symbol('rsession-proxy exchange');

interface Carrier {
  [EXCHANGE]?: Exchange;
}

// Starts an exchange for a request (`res`) or an upgrade (`client`) and ties its end to the
// client's: a client that leaves before the answer is complete takes the backend request with
// it (http-proxy 1.18.1 listens for 'aborted', which does not fire once the request has been
// read); after a 101, the linked sockets end each other (tunnel.ts).
export function openExchange(
  book: ExchangeBook,
  req: IncomingMessage,
  prefix: string,
  backendPath: string,
  client: { res: ServerResponse } | { socket: Duplex },
): Exchange {
  const exchange: Exchange = {
    req,
    prefix,
    backendPath,
    gone: false,
    heardAt: 0,
    timedOut: false,
    upgraded: false,
    responded: false,
  };
  (req as Carrier)[EXCHANGE] = exchange;
  book.live.add(exchange);
  if ('res' in client) {
    const { res } = client;
    exchange.res = res;
    res.once('close', () => {
      book.live.delete(exchange);
      book.touch();
      if (!res.writableFinished) void destroyExchange(exchange);
    });
  } else {
    const { socket } = client;
    exchange.client = socket;
    socket.once('close', () => {
      book.live.delete(exchange);
      book.touch();
      markGone(exchange);
      if (!exchange.upgraded) exchange.proxyReq?.destroy();
    });
  }
  return exchange;
}

// The exchange a request or a backend socket belongs to.
export function getExchange(carrier: object): Exchange | undefined {
  return (carrier as Carrier)[EXCHANGE];
}

export function attachExchange(carrier: object, exchange: Exchange): void {
  (carrier as Carrier)[EXCHANGE] = exchange;
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
