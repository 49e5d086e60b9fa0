import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logger.js';
import type { ProxyAdapter } from '../proxy/adapter.js';
import { authenticate, type TokenAuth } from './auth.js';
import type { ConnectionGuard } from './connection-guard.js';
import { formatFrontCookie } from './cookie.js';
import { removeCredentials } from './credentials.js';
import { getFrontOrigin, isForeignOrigin } from './origin.js';
import {
  refuseUpgrade,
  sendJson,
  sendMessage,
  sendRedirect,
  sendText,
  wantsHtml,
} from './pages.js';
import { parseTarget } from './request-target.js';
import { applyFrontForwarding } from './trusted-front.js';
import { carriesPrefix, describeUnstrippedPrefix } from './unstripped-prefix.js';

export const CONTROL_PATH = '_rsession-proxy/';

export interface FrontRouterOptions {
  prefix: string;
  /** A prefix the proxy in front should have removed: a request still carrying it gets a page saying so. */
  strippedPrefix: string | undefined;
  /** A path whose GET is answered at once (503) while rserver is not running: a readiness probe's. */
  probePath: string | undefined;
  /** undefined: no token (a Unix listener only its owner can reach). */
  auth: TokenAuth | undefined;
  isAllowedHost: (host: string | undefined) => boolean;
  /** `--trust-proxy`: believe the forwarding headers of the proxy nearest to serve. */
  trustProxy: boolean;
  adapter: ProxyAdapter;
  guard: ConnectionGuard;
  getStatus: () => unknown;
  logger: Logger | undefined;
}

export interface FrontRouter {
  readonly onRequest: (req: IncomingMessage, res: ServerResponse) => void;
  readonly onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** CONNECT: a proxy's method, not RStudio's; answered instead of dropped without a word. */
  readonly onConnect: (req: IncomingMessage, socket: Duplex) => void;
}

const HOST_HELP = 'Use http://localhost (or a host given with --allow-host).';
const ORIGIN_HELP = 'A page of another site cannot send requests to this RStudio.';

// What every request and upgrade goes through, in this order: a target that is a path, the
// host guard (DNS rebinding), health, the Origin check (cross-site forgery), the token, a
// prefix a proxy in front left on, then status, a readiness probe, or rserver. Neither handler
// lets an exception out: one bad request must not end serve.
export function createFrontRouter(options: FrontRouterOptions): FrontRouter {
  const { prefix, strippedPrefix, probePath, auth, adapter, guard } = options;
  const { getStatus, logger, trustProxy } = options;
  // The host guard. With --trust-proxy the front's forwarding headers are first reduced to what
  // serve believes, and the host the browser used (the front's X-Forwarded-Host) is checked
  // too: a front that passes a rebinding page's host on in it must not open the way.
  const checkHosts = (req: IncomingMessage) => {
    const forwardedHost = trustProxy ? applyFrontForwarding(req).host : undefined;
    if (!options.isAllowedHost(req.headers.host)) return false;
    return forwardedHost === undefined || options.isAllowedHost(forwardedHost);
  };
  const healthPath = `${prefix}${CONTROL_PATH}health`;
  const statusPath = `${prefix}${CONTROL_PATH}status`;

  const route = (req: IncomingMessage, res: ServerResponse) => {
    const target = parseTarget(req.url);
    if (target === undefined) {
      return sendMessage(req, res, 400, 'Bad request', 'The request target must be a path.');
    }
    if (!checkHosts(req)) {
      return sendMessage(req, res, 403, 'Host not allowed', HOST_HELP);
    }
    if (target.path === healthPath) return sendText(res, 'ok\n');
    if (isForeignOrigin(req, false, trustProxy)) {
      return sendMessage(req, res, 403, 'Cross-origin request refused', ORIGIN_HELP);
    }
    if (auth) {
      const allowRedirect = req.method === 'GET' || req.method === 'HEAD';
      const decision = authenticate(req.headers, target, auth, allowRedirect);
      if (decision.kind === 'deny') return denyRequest(req, res, decision.status);
      guard.trust(req.socket);
      if (decision.kind === 'redirect') {
        // Secure when the browser came over https (a TLS front): the cookie never travels in clear.
        const secure = getFrontOrigin(req, trustProxy).startsWith('https:');
        return sendRedirect(res, decision.location, formatFrontCookie(auth.cookie, secure));
      }
    } else guard.trust(req.socket);
    if (strippedPrefix !== undefined && carriesPrefix(target.path, strippedPrefix)) {
      return sendMessage(
        req,
        res,
        404,
        'Prefix not removed',
        describeUnstrippedPrefix(strippedPrefix),
      );
    }
    if (target.path === statusPath) return sendJson(res, getStatus());
    if (target.path === '/' && prefix !== '/') return sendRedirect(res, prefix);
    if (target.path === probePath && isProbe(req) && adapter.backend.state !== 'running') {
      return answerProbe(req, res, adapter);
    }
    removeCredentials(req, target);
    adapter.web(req, res);
  };

  const routeUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const target = parseTarget(req.url);
    if (target === undefined) return refuseUpgrade(socket, 400, 'Bad Request');
    if (!checkHosts(req)) return refuseUpgrade(socket, 403, 'Forbidden');
    if (isForeignOrigin(req, true, trustProxy)) return refuseUpgrade(socket, 403, 'Forbidden');
    if (auth) {
      const decision = authenticate(req.headers, target, auth, false);
      if (decision.kind !== 'allow') {
        const status = decision.kind === 'deny' ? decision.status : 401;
        return refuseUpgrade(socket, status, status === 401 ? 'Unauthorized' : 'Forbidden');
      }
    }
    guard.trust(socket);
    removeCredentials(req, target);
    adapter.upgrade(req, socket, head);
  };

  const report = (error: unknown) =>
    logger?.({
      level: 'error',
      source: 'rsession-proxy',
      message: `serve failed on a request: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    });

  return {
    onRequest: (req, res) => {
      try {
        route(req, res);
      } catch (error) {
        report(error);
        if (res.headersSent) res.destroy();
        else sendMessage(req, res, 500, 'Internal error', 'serve failed on this request.');
      }
    },
    onUpgrade: (req, socket, head) => {
      // Node drops its own 'error' listener from a socket it hands over as an upgrade: without
      // this one, a client resetting the connection would crash serve.
      socket.on('error', () => socket.destroy());
      try {
        routeUpgrade(req, socket, head);
      } catch (error) {
        report(error);
        socket.destroy();
      }
    },
    onConnect: (_req, socket) => {
      socket.on('error', () => socket.destroy());
      refuseUpgrade(socket, 405, 'Method Not Allowed');
    },
  };
}

// A GET or HEAD that is no browser's page load (those get the adapter's starting page).
function isProbe(req: IncomingMessage): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && !wantsHtml(req);
}

// jupyter-server-proxy gives each readiness try 1 s and takes any answer for ready: it must not
// wait for rserver, and says why there is none yet.
function answerProbe(req: IncomingMessage, res: ServerResponse, adapter: ProxyAdapter): void {
  const { state, lastError } = adapter.backend;
  const detail =
    state === 'stopped' && lastError !== undefined
      ? `RStudio is not running: ${lastError.message}`
      : 'RStudio is starting; retry in a few seconds.';
  sendMessage(req, res, 503, 'RStudio is not ready', detail, { 'Retry-After': '2' });
}

function denyRequest(req: IncomingMessage, res: ServerResponse, status: 401 | 403): void {
  sendMessage(
    req,
    res,
    status,
    status === 401 ? 'Token required' : 'Wrong token',
    'Open the URL that `rsession-proxy serve` printed (it ends in ?token=…), or send `Authorization: token <token>`.',
  );
}
