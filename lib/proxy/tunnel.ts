import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { attachExchange, getExchange, isGone, type Exchange } from './exchange.js';
import { lingerAfterEnd } from './linger.js';
import { getResponseHeaders } from './response-headers.js';

// rserver's answer to a WebSocket handshake ('proxyReqWs' hook). http-proxy writes it to the
// client itself: a 101 as rserver sent it, then the two sockets piped together; any other
// answer with rserver's headers and its body. These listeners run before http-proxy's.
export function watchHandshake(exchange: Exchange, proxyReq: ClientRequest): void {
  proxyReq.once('response', (proxyRes: IncomingMessage) => {
    prepareRefusal(exchange, proxyReq, proxyRes);
  });
  proxyReq.once('upgrade', (_proxyRes: IncomingMessage, proxySocket: Duplex) => {
    adoptTunnel(exchange, proxySocket);
  });
}

// rserver said no to the handshake (a redirect to sign in, a 404). The client gets what a plain
// response would carry — hop-by-hop headers dropped, a Location it can follow — with the body
// relayed decoded up to the end of the connection (HTTP/1.1 allows a body to end so): no length,
// no chunking, and `Connection: close`. rserver's connection carried a handshake and is closed
// once its answer is read, not pooled (with no pool it would stay open: node-http-proxy #783).
function prepareRefusal(exchange: Exchange, proxyReq: ClientRequest, proxyRes: IncomingMessage) {
  exchange.responded = true;
  const { client } = exchange;
  const backendSocket = proxyReq.socket;
  if (client === undefined || client.destroyed || isGone(exchange)) {
    proxyRes.destroy();
    backendSocket?.destroy();
    return;
  }
  proxyRes.headers = toHeaderObject(getResponseHeaders(exchange, proxyRes, false));
  proxyRes.once('end', () => {
    exchange.book.silence.unwatch(exchange);
    backendSocket?.destroy();
  });
  client.once('finish', () => lingerAfterEnd(client));
}

// `[name, value, ...]` as the object http-proxy writes the head from: names as rserver sent
// them, repeated ones (Set-Cookie) as arrays, and the body's framing replaced.
function toHeaderObject(raw: readonly string[]): IncomingHttpHeaders {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    if (/^content-length$/i.test(name)) continue;
    const value = raw[i + 1] ?? '';
    const seen = headers[name];
    headers[name] = seen === undefined ? value : [seen, value].flat();
  }
  headers.Connection = 'close';
  return headers;
}

// The 101: only the two sockets live on, the handshake's objects can go. An error on either
// destroys both: http-proxy only ends rserver's socket when the client's errors, which leaks it
// when the client vanished from the network (node-http-proxy #1510). A clean close of rserver's
// ends the client's gracefully (exchange.ts does the other way round).
function adoptTunnel(exchange: Exchange, proxySocket: Duplex): void {
  exchange.book.silence.unwatch(exchange);
  exchange.upgraded = true;
  exchange.proxySocket = proxySocket;
  exchange.proxyReq = undefined;
  exchange.facts = undefined;
  exchange.origin = undefined;
  const { client } = exchange;
  if (client === undefined || client.destroyed || isGone(exchange)) {
    proxySocket.destroy();
    return;
  }
  attachExchange(proxySocket, exchange);
  proxySocket.on('error', destroyTunnel);
  proxySocket.on('close', onBackendClose);
}

// The 'error' listener of both sockets of a WebSocket (the client's from its 'upgrade' event on:
// Node drops its own, and a client resetting the connection would crash the host process).
export function destroyTunnel(this: Duplex): void {
  this.destroy();
  const exchange = getExchange(this);
  exchange?.client?.destroy();
  exchange?.proxySocket?.destroy();
}

function onBackendClose(this: Duplex): void {
  const client = getExchange(this)?.client;
  if (client === undefined || client.destroyed) return;
  client.end();
  lingerAfterEnd(client);
}
