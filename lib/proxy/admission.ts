import type { IncomingMessage } from 'node:http';
import { isAuthorized } from './authorize.js';
import type { AdapterCore } from './core.js';
import { isGone, openExchange, type Exchange } from './exchange.js';
import { asProxyError } from './failure.js';
import { getClientTarget, getMountPath } from './mount.js';
import { routeRequest } from './prefix.js';
import { getBackendEndpoint } from './readiness.js';
import {
  answerClient,
  isPageLoad,
  refuseClient,
  renderRedirect,
  renderStartingPage,
  type ClientSide,
} from './responses.js';
import { getUpgradeProblem } from './websocket.js';

/** Seconds between reloads of the "Starting RStudio…" page. */
export const STARTING_PAGE_REFRESH = 2;

/** A request or an upgrade as it arrives at the adapter. */
export interface Entry {
  req: IncomingMessage;
  /** `{ res }` for a request, `{ socket }` for an upgrade. */
  client: ClientSide;
  /** attach()'s prefix for this server, over the adapter's. */
  prefix?: string | undefined;
  /** Express's: a request outside the prefix is passed on instead of answered 404. */
  next?: (() => void) | undefined;
}

// The one way in, for requests and upgrades alike: route → closed? → authorize → backend.
// Whatever does not pass is answered here, and nothing reaches rserver, or starts it, before
// authorize said yes. Resolves the exchange to forward, its endpoint known, or undefined when
// the client has been answered or has left.
export async function admit(core: AdapterCore, entry: Entry): Promise<Exchange | undefined> {
  const { req, client } = entry;
  core.touch();
  const upgrade = 'socket' in client;
  const prefix = entry.prefix ?? core.options.prefix ?? getMountPath(req) ?? '';
  const route = routeRequest(getClientTarget(req), prefix);
  if (route.kind === 'outside' && entry.next) {
    entry.next();
    return undefined;
  }
  if (route.kind === 'redirect' && !upgrade) {
    const keepsMethod = req.method !== 'GET' && req.method !== 'HEAD';
    answerClient(req, client, renderRedirect(keepsMethod ? 307 : 302, route.location));
    return undefined;
  }
  if (route.kind !== 'proxy') {
    if (route.kind === 'invalid') {
      refuseClient(req, client, 400, { message: 'The request target is not a path.' });
    } else refuseClient(req, client, 404, { message: `Not found: RStudio is at ${prefix}/.` });
    return undefined;
  }
  if (core.closed) {
    refuseClient(req, client, 503, {
      code: 'EUNAVAILABLE',
      message: 'The RStudio proxy is shutting down.',
    });
    return undefined;
  }
  const problem = upgrade ? getUpgradeProblem(req.method, req.headers) : undefined;
  if (problem !== undefined) {
    refuseClient(req, client, 400, { message: problem });
    return undefined;
  }
  const exchange = openExchange(core, req, prefix, route.path, client);
  if (!(await isAuthorized(core, req, client)) || isGone(exchange)) return undefined;
  const { backend } = core.options;
  // A browser gets a page at once rather than a blank tab for the seconds rserver takes.
  if (!upgrade && backend.state !== 'running' && isPageLoad(req.method, req.headers.accept)) {
    const failure = core.takeStartFailure();
    if (failure) {
      refuseClient(req, client, 503, failure);
    } else {
      core.startInBackground(req);
      answerClient(req, client, renderStartingPage(STARTING_PAGE_REFRESH, backend.progress));
    }
    return undefined;
  }
  try {
    exchange.endpoint = await getBackendEndpoint(backend, core.options.startTimeout, exchange);
  } catch (error) {
    if (isGone(exchange)) return undefined;
    const failure = asProxyError(error);
    core.report(failure, req);
    refuseClient(req, client, 503, failure);
    return undefined;
  }
  return isGone(exchange) ? undefined : exchange;
}
