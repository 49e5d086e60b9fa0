import type { IncomingMessage } from 'node:http';
import { asProxyError } from './failure.js';
import type { AdapterCore } from './core.js';
import { isGone, type Exchange } from './exchange.js';
import { relayResponse } from './relay.js';
import { refuseClient } from './responses.js';

/** rserver's sign-in page, under its root path. */
const SIGN_IN_PAGE = /\/auth-sign-in$/;
/** An appUri to follow: a path (not `//host`, no backslash), in characters a header carries. */
const SAFE_APP_URI = /^\/(?![/\\])[!-[\]-~]*$/;

// Whether rserver is sending the browser to its sign-in page: a redirect whose Location (an
// absolute URL, or a path) ends in /auth-sign-in, whatever the query.
export function isSignInRedirect(status: number, location: string | undefined): boolean {
  if (status < 300 || status >= 400 || location === undefined) return false;
  let pathname: string;
  try {
    pathname = new URL(location, 'http://rserver.invalid').pathname;
  } catch {
    return false;
  }
  return SIGN_IN_PAGE.test(pathname);
}

// Where the browser goes once signed in: where it was going, or, when it asked for the sign-in
// page itself, the page's appUri (a path under rserver's root; anything else means the IDE's
// home). Relative to the URL the browser asked for, which ends in `backendPath` whatever prefix
// was removed before rserver: by this adapter, or by a proxy in front that strips its own
// (jupyter-server-proxy in front of exec, which rewrites no Location), which the adapter cannot
// know. Always `./` or `../` first, so that it can never name another host or scheme.
export function getSignedInTarget(backendPath: string): string {
  const queryAt = backendPath.indexOf('?');
  const path = queryAt < 0 ? backendPath : backendPath.slice(0, queryAt);
  let target = backendPath;
  if (SIGN_IN_PAGE.test(path)) {
    const appUri = new URLSearchParams(queryAt < 0 ? '' : backendPath.slice(queryAt)).get('appUri');
    target = appUri !== null && SAFE_APP_URI.test(appUri) ? appUri : '/';
  }
  const depth = path.split('/').length - 2;
  return `${depth > 0 ? '../'.repeat(depth) : './'}${target.slice(1)}`;
}

// Whether this answer of rserver's is one the adapter signs in for: the backend can sign in, the
// request is a GET or HEAD (a browser following a link; another method's body is gone), and
// rserver sends it to its sign-in page or it asked for that page.
export function wantsSignIn(
  core: AdapterCore,
  exchange: Exchange,
  req: IncomingMessage,
  proxyRes: IncomingMessage,
): boolean {
  if (core.options.backend.signIn === undefined) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const status = proxyRes.statusCode ?? 0;
  if (isSignInRedirect(status, proxyRes.headers.location)) return true;
  if (status !== 200 || !exchange.backendPath.includes('/auth-sign-in')) return false;
  return SIGN_IN_PAGE.test(exchange.backendPath.split('?', 1)[0] ?? '');
}

// Signs the browser in on the user's behalf (the Backend knows how, with the headers the adapter
// sent rserver, from which rserver builds its cookies) and sends it back with rserver's cookies.
// rserver's own answer waits, unread, until the backend has said: when it signs browsers in by
// itself, that answer is relayed as it is; when the sign-in fails, the client gets an error
// naming why, never a sign-in form it has no password for.
export function answerWithSignIn(
  core: AdapterCore,
  exchange: Exchange,
  req: IncomingMessage,
  proxyRes: IncomingMessage,
): void {
  const { res } = exchange;
  if (res === undefined) {
    proxyRes.destroy();
    return;
  }
  const headers = exchange.proxyReq?.getHeaders() ?? {};
  const forwarded: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    forwarded[name] = typeof value === 'number' ? String(value) : value;
  }
  const signIn = core.options.backend.signIn?.({ headers: forwarded, cookie: req.headers.cookie });
  void (signIn ?? Promise.resolve(undefined)).then(
    (cookies) => {
      if (isGone(exchange) || res.headersSent) {
        proxyRes.destroy();
        return;
      }
      if (cookies === undefined) {
        relayResponse(exchange, req, proxyRes);
        return;
      }
      proxyRes.resume();
      res.writeHead(302, {
        location: getSignedInTarget(exchange.backendPath),
        'set-cookie': [...cookies.setCookie],
        'cache-control': 'no-store',
        'content-length': '0',
      });
      res.end();
    },
    (error: unknown) => {
      proxyRes.resume();
      if (isGone(exchange) || res.headersSent) return;
      const failure = asProxyError(error);
      core.report(failure, req);
      refuseClient(req, { res }, 502, failure);
    },
  );
}
