import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAuthorized } from './authorize.js';
import type { AdapterCore } from './core.js';
import {
  createExchange,
  destroyExchange,
  getClientTarget,
  getMountPath,
  isGone,
  prepareForward,
  type Exchange,
} from './exchange.js';
import { forwardRequest } from './forward-request.js';
import { routeRequest } from './prefix.js';
import { asProxyError, judgeBackendFailure } from './failure.js';
import { getBackendSocket } from './readiness.js';
import {
  chooseFormat,
  isPageLoad,
  renderError,
  renderRedirect,
  renderStartingPage,
  sendRendered,
  type Refusal,
  type Rendered,
} from './responses.js';

/** Seconds between reloads of the "Starting RStudio…" page. */
export const STARTING_PAGE_REFRESH = 2;

// Carries one plain HTTP request to rserver, or answers it: redirects for the bare prefix, 403
// from authorize, the starting page or 503 while rserver starts, 502/503/504 when it fails.
// `next` is Express's: a request outside the prefix is passed on instead of answered 404.
export function handleRequest(
  core: AdapterCore,
  req: IncomingMessage,
  res: ServerResponse,
  prefixOverride?: string,
  next?: () => void,
): void {
  core.touch();
  const answer = (rendered: Rendered) => {
    if (!res.headersSent && !res.destroyed) sendRendered(res, rendered, req.method);
  };
  const refuse = (status: number, refusal: Refusal) =>
    answer(renderError(status, refusal, chooseFormat(req.headers.accept)));
  if (core.closed) {
    refuse(503, { code: 'EUNAVAILABLE', message: 'The RStudio proxy is shutting down.' });
    return;
  }
  const prefix = prefixOverride ?? core.options.prefix ?? getMountPath(req) ?? '';
  const route = routeRequest(getClientTarget(req), prefix);
  if (route.kind === 'outside') {
    if (next) next();
    else refuse(404, { message: `Not found: RStudio is at ${prefix}/.` });
    return;
  }
  if (route.kind === 'invalid') {
    refuse(400, { message: 'The request target is not a path.' });
    return;
  }
  if (route.kind === 'redirect') {
    const keepsMethod = req.method !== 'GET' && req.method !== 'HEAD';
    answer(renderRedirect(keepsMethod ? 307 : 302, route.location));
    return;
  }
  const exchange = createExchange(req, prefix, route.path);
  exchange.res = res;
  core.live.add(exchange);
  // A client that leaves mid-request or mid-download takes the backend request with it.
  res.once('close', () => {
    core.live.delete(exchange);
    core.touch();
    if (!res.writableFinished) void destroyExchange(exchange);
  });
  forward(core, exchange, res, refuse, answer).catch((error: unknown) => {
    core.report(asProxyError(error), req);
    if (res.headersSent) res.destroy();
    else refuse(500, { message: 'The RStudio proxy failed.' });
  });
}

async function forward(
  core: AdapterCore,
  exchange: Exchange,
  res: ServerResponse,
  refuse: (status: number, refusal: Refusal) => void,
  answer: (rendered: Rendered) => void,
): Promise<void> {
  const { req } = exchange;
  if (!(await isAuthorized(core, req, refuse)) || isGone(exchange)) return;
  const { backend } = core.options;
  // A browser gets a page at once rather than a blank tab for the seconds rserver takes.
  if (backend.state !== 'running' && isPageLoad(req.method, req.headers.accept)) {
    const failure = core.takeStartFailure();
    if (failure) {
      refuse(503, failure);
    } else {
      core.startInBackground(req);
      answer(renderStartingPage(STARTING_PAGE_REFRESH));
    }
    return;
  }
  let socketPath: string;
  try {
    socketPath = await getBackendSocket(backend, core.options.startTimeout, exchange);
  } catch (error) {
    if (isGone(exchange)) return;
    const failure = asProxyError(error);
    core.report(failure, req);
    refuse(503, failure);
    return;
  }
  if (isGone(exchange)) return;
  exchange.socketPath = socketPath;
  const headers = prepareForward(exchange, core.options.trustProxy, false);
  forwardRequest(core, exchange, res, socketPath, headers, (error: Error) => {
    onProxyError(core, exchange, res, refuse, answer, error);
  });
}

// What the client gets when rserver cannot be reached, resets the connection or stays silent.
function onProxyError(
  core: AdapterCore,
  exchange: Exchange,
  res: ServerResponse,
  refuse: (status: number, refusal: Refusal) => void,
  answer: (rendered: Rendered) => void,
  error: Error,
): void {
  const { req } = exchange;
  if (isGone(exchange)) return;
  void judgeBackendFailure(core.options.backend, error, {
    timedOut: exchange.timedOut ? core.options.proxyTimeout : undefined,
    midResponse: res.headersSent,
    socketPath: exchange.socketPath,
  }).then(({ failure, status, restarting }) => {
    if (isGone(exchange)) return;
    core.report(failure, req);
    // Too late for a status: end the connection so the client sees a cut, not a hang.
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (restarting && isPageLoad(req.method, req.headers.accept)) {
      answer(renderStartingPage(STARTING_PAGE_REFRESH));
      return;
    }
    refuse(status, failure);
  });
}
