import type { IncomingMessage, ServerResponse } from 'node:http';
import { admit, STARTING_PAGE_REFRESH } from './admission.js';
import type { AdapterCore } from './core.js';
import { isGone, type Exchange } from './exchange.js';
import { asProxyError, checkBackend, judgeBackendFailure } from './failure.js';
import { prepareForward } from './forwarded.js';
import { answerClient, isPageLoad, refuseClient, renderStartingPage } from './responses.js';

// Carries one plain HTTP request to rserver, or answers it: redirects for the bare prefix, 403
// from authorize, the starting page or 503 while rserver starts, 502/503/504 when it fails.
// `next` is Express's: a request outside the prefix is passed on instead of answered 404.
export function handleRequest(
  core: AdapterCore,
  req: IncomingMessage,
  res: ServerResponse,
  prefix?: string,
  next?: () => void,
): void {
  admit(core, { req, client: { res }, prefix, next })
    .then((exchange) => {
      if (exchange) forwardRequest(core, exchange, res);
    })
    .catch((error: unknown) => {
      core.report(asProxyError(error), req);
      if (res.headersSent) res.destroy();
      else refuseClient(req, { res }, 500, { message: 'The RStudio proxy failed.' });
    });
}

// Hands the request to http-proxy with what rserver receives — always its socket, whatever the
// request line or Host says; the path without the prefix; the adapter's headers — swapped in
// for the call only (http-proxy reads them from `req` synchronously), so the embedding server's
// request object is left as it was.
function forwardRequest(core: AdapterCore, exchange: Exchange, res: ServerResponse): void {
  const { req, endpoint } = exchange;
  if (endpoint === undefined) return;
  const headers = prepareForward(exchange, core.options.trustProxy, false);
  core.agent.useEndpoint(endpoint);
  const { url, headers: clientHeaders } = req;
  req.url = exchange.backendPath;
  req.headers = headers;
  try {
    core.engine.web(req, res, (error) => onProxyError(core, exchange, res, error));
  } finally {
    req.url = url;
    req.headers = clientHeaders;
  }
  const length = headers['content-length'];
  if (headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')) {
    // A long upload is someone using RStudio too, and rserver is not silent while it reads it.
    // (The body is already piped to rserver: this only watches it pass.)
    req.on('data', () => {
      core.touch();
      core.silence.heard(exchange);
    });
  }
}

// The request's own error callback: rserver could not be reached, reset the connection or
// stayed silent. A connection that could not be made has the backend check its socket first,
// so that the answer can say rserver is restarting and why.
function onProxyError(core: AdapterCore, exchange: Exchange, res: ServerResponse, error: Error) {
  if (isGone(exchange)) return;
  const midResponse = res.headersSent;
  const { backend } = core.options;
  const checked = midResponse ? Promise.resolve() : checkBackend(backend, error);
  void checked.then(() => {
    const { req } = exchange;
    if (isGone(exchange)) return;
    const { failure, status, restarting } = judgeBackendFailure(backend, error, {
      timedOut: exchange.timedOut ? core.options.proxyTimeout : undefined,
      midResponse,
      endpoint: exchange.endpoint,
    });
    core.report(failure, req);
    // Too late for a status: end the connection so the client sees a cut, not a hang.
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (restarting && isPageLoad(req.method, req.headers.accept)) {
      answerClient(req, { res }, renderStartingPage(STARTING_PAGE_REFRESH, backend.progress));
      return;
    }
    refuseClient(req, { res }, status, failure);
  });
}
