import type { IncomingMessage, ServerResponse } from 'node:http';
import { RSessionProxyError } from '../errors.js';
import { isSocketEndpoint } from '../backend.js';
import type { AdapterCore } from './core.js';
import { isGone, type Exchange } from './exchange.js';
import { getResponseHeaders } from './response-headers.js';

// rserver's answer to a plain request (http-proxy's 'proxyRes' hook; it leaves the response to
// us, selfHandleResponse): the status and the headers the client may see, in one writeHead from
// rserver's raw headers, and the body streamed as it comes.
export function relayResponse(core: AdapterCore, exchange: Exchange, proxyRes: IncomingMessage) {
  const { res } = exchange;
  exchange.proxyRes = proxyRes;
  core.touch();
  core.silence.heard(exchange);
  if (res === undefined || isGone(exchange) || res.headersSent) {
    proxyRes.destroy();
    return;
  }
  const framed = exchange.req.httpVersion !== '1.0';
  const headers = getResponseHeaders(exchange, proxyRes, framed);
  writeHead(res, proxyRes.statusCode ?? 502, proxyRes.statusMessage, headers);
  // A download that takes longer than the idle timeout is still someone using RStudio.
  proxyRes.on('data', () => {
    core.touch();
    core.silence.heard(exchange);
  });
  // rserver went away mid-body: the client must see the connection end, not wait forever.
  proxyRes.once('close', () => {
    if (proxyRes.complete || isGone(exchange)) return;
    const { endpoint } = exchange;
    core.report(
      new RSessionProxyError('EBACKEND', 'RStudio broke off its answer.', {
        path:
          endpoint !== undefined && isSocketEndpoint(endpoint) ? endpoint.socketPath : undefined,
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
