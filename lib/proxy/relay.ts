import type { IncomingMessage, ServerResponse } from 'node:http';
import { RSessionProxyError } from '../errors.js';
import { isSocketEndpoint } from '../backend.js';
import { attachExchange, getExchange, isGone, type Exchange } from './exchange.js';
import { getRawBodyLength, relayRawBody } from './raw-body.js';
import { getResponseHeaders } from './response-headers.js';

// rserver's answer to a plain request (http-proxy's 'proxyRes' hook; it leaves the response to
// us, selfHandleResponse): the status and the headers the client may see, in one writeHead from
// rserver's raw headers, and the body streamed as it comes (relayBody; a download's past
// node:http's streams: raw-body.ts).
export function relayResponse(exchange: Exchange, req: IncomingMessage, proxyRes: IncomingMessage) {
  const { res } = exchange;
  exchange.proxyRes = proxyRes;
  if (res === undefined || isGone(exchange) || res.headersSent) {
    proxyRes.destroy();
    return;
  }
  const framed = req.httpVersion !== '1.0';
  const headers = getResponseHeaders(exchange, proxyRes, framed);
  const rawLength = getRawBodyLength(req, res, proxyRes, headers);
  writeHead(res, proxyRes.statusCode ?? 502, proxyRes.statusMessage, headers);
  attachExchange(proxyRes, exchange);
  proxyRes.on('close', onResponseClose);
  if (rawLength === undefined) relayBody(proxyRes);
  else relayRawBody(res, proxyRes, rawLength);
}

// The body, chunk by chunk, paused while the client's socket is full. Not pipe(): for every
// answer it adds seven listeners to the two streams and removes them again at the end, which
// for the small answers most requests get (RPC replies) is more work than the answer itself.
// A client that leaves, or a body broken off, ends the exchange (exchange.ts, onResponseClose
// below), which destroys both streams.
function relayBody(proxyRes: IncomingMessage): void {
  proxyRes.on('data', onBodyData);
  proxyRes.on('end', onBodyEnd);
}

function onBodyData(this: IncomingMessage, chunk: Buffer): void {
  const res = getExchange(this)?.res;
  if (res === undefined) {
    this.destroy();
    return;
  }
  if (!res.write(chunk)) {
    this.pause();
    res.once('drain', () => this.resume());
  }
}

function onBodyEnd(this: IncomingMessage): void {
  getExchange(this)?.res?.end();
}

// rserver went away mid-body: the client must see the connection end, not wait forever.
function onResponseClose(this: IncomingMessage): void {
  const exchange = getExchange(this);
  const req = exchange?.req;
  if (exchange === undefined || req === undefined || this.complete || isGone(exchange)) return;
  const { endpoint } = exchange;
  exchange.book.report(
    new RSessionProxyError('EBACKEND', 'RStudio broke off its answer.', {
      path: endpoint !== undefined && isSocketEndpoint(endpoint) ? endpoint.socketPath : undefined,
    }),
    req,
  );
  exchange.res?.destroy();
}

// Writes the status line and rserver's headers. Headers the embedding server set before (an
// Express app's X-Powered-By) are kept unless rserver sends the same; Node's writeHead would
// keep only the last of repeated Set-Cookie lines in that case, hence appendHeader.
function writeHead(
  res: ServerResponse,
  status: number,
  message: string | undefined,
  headers: string[],
): void {
  const reason = message === '' ? undefined : message;
  if (res.getHeaderNames().length === 0) {
    if (reason === undefined) res.writeHead(status, headers);
    else res.writeHead(status, reason, headers);
    return;
  }
  for (let i = 0; i < headers.length; i += 2) res.removeHeader(headers[i] ?? '');
  for (let i = 0; i < headers.length; i += 2)
    res.appendHeader(headers[i] ?? '', headers[i + 1] ?? '');
  res.writeHead(status, reason);
}
