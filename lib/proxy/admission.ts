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
  /** Carries the admitted exchange to rserver; its endpoint is known. */
  forward: (exchange: Exchange) => void;
}

// The one way in, for requests and upgrades alike: route → closed? → authorize → backend.
// Whatever does not pass is answered here, and nothing reaches rserver, or starts it, before
// authorize said yes; what passes goes on to `entry.forward`, unless the client left. Every
// request passes here, so a request with nothing to wait for (no authorize hook, rserver
// running) costs one promise: the backend's.
export function admit(core: AdapterCore, entry: Entry): void {
  const { req, client } = entry;
  core.touch();
  const upgrade = 'socket' in client;
  const prefix = entry.prefix ?? core.options.prefix ?? getMountPath(req) ?? '';
  const route = routeRequest(getClientTarget(req), prefix);
  if (route.kind === 'outside' && entry.next) {
    entry.next();
    return;
  }
  if (route.kind === 'redirect' && !upgrade) {
    const keepsMethod = req.method !== 'GET' && req.method !== 'HEAD';
    answerClient(req, client, renderRedirect(keepsMethod ? 307 : 302, route.location));
    return;
  }
  if (route.kind !== 'proxy') {
    if (route.kind === 'invalid') {
      refuseClient(req, client, 400, { message: 'The request target is not a path.' });
    } else refuseClient(req, client, 404, { message: `Not found: RStudio is at ${prefix}/.` });
    return;
  }
  if (core.closed) {
    refuseClient(req, client, 503, {
      code: 'EUNAVAILABLE',
      message: 'The RStudio proxy is shutting down.',
    });
    return;
  }
  const problem = upgrade ? getUpgradeProblem(req.method, req.headers) : undefined;
  if (problem !== undefined) {
    refuseClient(req, client, 400, { message: problem });
    return;
  }
  const exchange = openExchange(core, req, prefix, route.path, client);
  if (core.options.authorize === undefined) {
    reachBackend(core, entry, exchange);
    return;
  }
  isAuthorized(core, req, client).then(
    (allowed) => {
      if (allowed && !isGone(exchange)) reachBackend(core, entry, exchange);
    },
    (error: unknown) => failExchange(core, entry, error),
  );
}

// The backend step: a browser's page load while rserver is not running gets the starting page
// at once rather than a blank tab for the seconds rserver takes; anything else waits for it.
function reachBackend(core: AdapterCore, entry: Entry, exchange: Exchange): void {
  const { req, client } = entry;
  const { backend } = core.options;
  if (
    !('socket' in client) &&
    backend.state !== 'running' &&
    isPageLoad(req.method, req.headers.accept)
  ) {
    const failure = core.takeStartFailure();
    if (failure) {
      refuseClient(req, client, 503, failure);
    } else {
      core.startInBackground(req);
      answerClient(req, client, renderStartingPage(STARTING_PAGE_REFRESH, backend.progress));
    }
    return;
  }
  getBackendEndpoint(backend, core.options.startTimeout, exchange).then(
    (endpoint) => {
      if (isGone(exchange)) return;
      exchange.endpoint = endpoint;
      try {
        entry.forward(exchange);
      } catch (error) {
        failExchange(core, entry, error);
      }
    },
    (error: unknown) => {
      if (isGone(exchange)) return;
      const failure = asProxyError(error);
      core.report(failure, req);
      refuseClient(req, client, 503, failure);
    },
  );
}

// A bug of ours (or a throwing hook) must not leave the client hanging nor take the process
// down: the request gets a 500, or its connection is cut when an answer had begun.
function failExchange(core: AdapterCore, entry: Entry, error: unknown): void {
  const { req, client } = entry;
  core.report(asProxyError(error), req);
  if ('res' in client && !client.res.headersSent) {
    refuseClient(req, client, 500, { message: 'The RStudio proxy failed.' });
  } else if ('res' in client) {
    client.res.destroy();
  } else {
    client.socket.destroy();
  }
}
