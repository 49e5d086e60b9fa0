import { request, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { RSessionProxyError } from '../errors.js';
import type { AdapterCore } from './core.js';
import { getLocationContext, isGone, type Exchange } from './exchange.js';
import { filterResponseHeaders } from './forwarded.js';
import { REDIRECT_STATUSES, rewriteLocation } from './location.js';
import { answerWithSignIn, wantsSignIn } from './sign-in.js';

// The characters Node.js accepts in a request target; anything else (which a client could only
// send to a lenient front server) is percent-encoded rather than refused.
const VALID_TARGET = /^[\x21-\xff]+$/;

// rserver receives the path exactly as the client sent it, minus the prefix: repeated slashes,
// `%2F` and all.
export function getBackendTarget(backendPath: string): string {
  return VALID_TARGET.test(backendPath)
    ? backendPath
    : backendPath.replace(/[^\x21-\xff]/gu, (char) => encodeURIComponent(char));
}

// Opens the request to rserver's socket (through the pool) and watches it for silence until it
// closes: once the answer is complete, or when it failed or was destroyed.
export function requestBackend(
  core: AdapterCore,
  exchange: Exchange,
  socketPath: string,
  method: string,
  headers: Record<string, string | string[]>,
  onError: (error: Error) => void,
): ClientRequest {
  const proxyReq = request({
    socketPath,
    method,
    path: getBackendTarget(exchange.backendPath),
    headers,
    agent: core.agent,
  });
  exchange.proxyReq = proxyReq;
  proxyReq.once('error', onError);
  core.silence.watch(exchange);
  proxyReq.once('close', () => core.silence.unwatch(exchange));
  return proxyReq;
}

// Sends one request to rserver's socket — always that socket, whatever the request line or Host
// says — and streams the answer back: the body both ways as it arrives (never buffered), rserver's
// status and headers with its connection-scoped headers dropped and redirects rewritten for the
// client. `onError` gets a failure to connect, a reset, or the silence timeout.
export function forwardRequest(
  core: AdapterCore,
  exchange: Exchange,
  res: ServerResponse,
  socketPath: string,
  headers: Record<string, string | string[]>,
  onError: (error: Error) => void,
): void {
  const { req } = exchange;
  const hasBody =
    headers['transfer-encoding'] !== undefined ||
    (headers['content-length'] !== undefined && headers['content-length'] !== '0');
  // Some servers wait for a body that never comes on a DELETE or OPTIONS without a length.
  if ((req.method === 'DELETE' || req.method === 'OPTIONS') && !hasBody) {
    headers['content-length'] = '0';
  }
  const proxyReq = requestBackend(
    core,
    exchange,
    socketPath,
    req.method ?? 'GET',
    headers,
    onError,
  );
  proxyReq.once('response', (proxyRes: IncomingMessage) => {
    const relay = () => relayResponse(core, exchange, res, proxyRes);
    // An rserver run with a password nobody types (lib/rserver/isolation.ts) is signed in to.
    if (wantsSignIn(core, exchange, proxyRes)) {
      answerWithSignIn(core, exchange, res, proxyRes, headers, relay);
    } else relay();
  });
  if (hasBody) {
    // A long upload is someone using RStudio too, and rserver is not silent while it reads it.
    req.on('data', () => {
      core.touch();
      core.silence.heard(exchange);
    });
    req.pipe(proxyReq);
  } else {
    proxyReq.end();
  }
}

function relayResponse(
  core: AdapterCore,
  exchange: Exchange,
  res: ServerResponse,
  proxyRes: IncomingMessage,
): void {
  exchange.proxyRes = proxyRes;
  core.touch();
  core.silence.heard(exchange);
  if (isGone(exchange) || res.headersSent) {
    proxyRes.destroy();
    return;
  }
  const status = proxyRes.statusCode ?? 502;
  writeHead(res, status, proxyRes.statusMessage, getResponseHeaders(exchange, proxyRes, status));
  // A download that takes longer than the idle timeout is still someone using RStudio.
  proxyRes.on('data', () => {
    core.touch();
    core.silence.heard(exchange);
  });
  // rserver went away mid-body: the client must see the connection end, not wait forever.
  proxyRes.once('close', () => {
    if (proxyRes.complete || isGone(exchange)) return;
    core.report(
      new RSessionProxyError('EBACKEND', 'RStudio broke off its answer.', {
        path: exchange.socketPath,
      }),
      exchange.req,
    );
    res.destroy();
  });
  proxyRes.pipe(res);
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

// rserver's redirects are built from its view of the request (RSERVER.md §4); they are made to
// point where the client can follow them.
export function getResponseHeaders(
  exchange: Exchange,
  proxyRes: IncomingMessage,
  status: number,
): string[] {
  const http10 = exchange.req.httpVersion === '1.0';
  const headers = filterResponseHeaders(proxyRes.rawHeaders, http10);
  if (!REDIRECT_STATUSES.has(status)) return headers;
  const context = getLocationContext(exchange);
  for (let i = 0; context !== undefined && i < headers.length; i += 2) {
    if (headers[i]?.toLowerCase() === 'location') {
      headers[i + 1] = rewriteLocation(headers[i + 1] ?? '', context);
    }
  }
  return headers;
}
