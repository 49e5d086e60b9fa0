import type { IncomingMessage, ServerResponse } from 'node:http';
import { admit, STARTING_PAGE_REFRESH } from './admission.js';
import type { AdapterCore } from './core.js';
import { isGone, type Exchange } from './exchange.js';
import { checkBackend, judgeBackendFailure } from './failure.js';
import { callEngine } from './engine.js';
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
  admit(core, {
    req,
    client: { res },
    prefix,
    next,
    forward: (exchange) => forwardRequest(core, exchange, req, res),
  });
}

// Hands the request to http-proxy: always to rserver, whatever the request line or Host says.
function forwardRequest(
  core: AdapterCore,
  exchange: Exchange,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  callEngine(core, exchange, req, false, (engine) => {
    engine.web(req, res, (error) => onProxyError(core, exchange, req, res, error));
  });
}

// The request's own error callback: rserver could not be reached, reset the connection or
// stayed silent. A connection that could not be made has the backend check its socket first,
// so that the answer can say rserver is restarting and why.
function onProxyError(
  core: AdapterCore,
  exchange: Exchange,
  req: IncomingMessage,
  res: ServerResponse,
  error: Error,
) {
  if (isGone(exchange)) return;
  const midResponse = res.headersSent;
  const { backend } = core.options;
  const checked = midResponse ? Promise.resolve() : checkBackend(backend, error);
  void checked.then(() => {
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
