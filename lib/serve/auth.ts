import type { IncomingMessage, ServerResponse } from 'node:http';
import { getCookieValue, hasValidCredential, tokensEqual } from './token.js';

export type AuthDecision =
  /** Let the request through. */
  | { kind: 'allow' }
  /** The token came in the query: it was right; set the cookie and redirect without it. */
  | { kind: 'redirect'; location: string; cookie: string }
  /** No credential (401) or a wrong one (403). */
  | { kind: 'deny'; status: 401 | 403 };

export interface TokenAuth {
  token: string;
  cookieName: string;
  /** Path of the cookie: the prefix. */
  cookiePath: string;
}

// Token auth as Jupyter does it: `?token=` once (then an HttpOnly, SameSite=Strict cookie
// scoped to the prefix), or `Authorization: token <t>`. The query form redirects so the token
// leaves the address bar and the browser history.
export function authenticate(
  req: IncomingMessage,
  auth: TokenAuth,
  allowRedirect: boolean,
): AuthDecision {
  // Most requests have no token in their query: they are not parsed as URLs. (A parameter named
  // token is spelt `token`, or percent-encoded.)
  const target = req.url ?? '/';
  const query = target.slice(target.indexOf('?') + 1 || target.length);
  const url =
    query.includes('token') || query.includes('%')
      ? new URL(target, 'http://localhost')
      : undefined;
  const fromQuery = url?.searchParams.get('token') ?? null;
  if (url !== undefined && fromQuery !== null) {
    if (!tokensEqual(fromQuery, auth.token)) return { kind: 'deny', status: 403 };
    if (!allowRedirect) return { kind: 'allow' };
    url.searchParams.delete('token');
    const cookie = `${auth.cookieName}=${getCookieValue(auth.token)}; Path=${auth.cookiePath}; HttpOnly; SameSite=Strict`;
    return { kind: 'redirect', location: `${url.pathname}${url.search}`, cookie };
  }
  if (hasValidCredential(req, auth.token, auth.cookieName)) return { kind: 'allow' };
  const presented =
    req.headers.authorization !== undefined ||
    (req.headers.cookie ?? '').includes(`${auth.cookieName}=`);
  return { kind: 'deny', status: presented ? 403 : 401 };
}

export function sendRedirect(res: ServerResponse, location: string, cookie?: string): void {
  res.writeHead(302, {
    Location: location,
    'Cache-Control': 'no-store',
    'Content-Length': 0,
    ...(cookie && { 'Set-Cookie': cookie }),
  });
  res.end();
}
