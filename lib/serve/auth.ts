import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { getCookieValues, type FrontCookie } from './cookie.js';
import { getQueryParam, removeQueryParam, type RequestTarget } from './request-target.js';

export type AuthDecision =
  /** Let the request through. */
  | { kind: 'allow' }
  /** The token came in the query of a GET: set the cookie and redirect without the token. */
  | { kind: 'redirect'; location: string }
  /** No valid credential (401) or a wrong token (403). */
  | { kind: 'deny'; status: 401 | 403 };

export interface TokenAuth {
  isToken: (given: string) => boolean;
  cookie: FrontCookie;
  isCookie: (given: string) => boolean;
}

// The token and this run's cookie, ready to be compared with what requests present.
export function createTokenAuth(token: string, cookie: FrontCookie): TokenAuth {
  return {
    isToken: createSecretMatcher(token),
    cookie,
    isCookie: createSecretMatcher(cookie.value),
  };
}

// Token auth as Jupyter does it: `?token=` once (then the front's cookie), or
// `Authorization: token <t>`. The query form of a GET redirects, so that the token leaves the
// address bar and the browser history. A wrong token is refused (403); a cookie of another
// run or another serve is no credential at all (401: open the URL with the token again).
export function authenticate(
  headers: IncomingHttpHeaders,
  target: RequestTarget,
  auth: TokenAuth,
  allowRedirect: boolean,
): AuthDecision {
  const fromQuery = getQueryParam(target.query, 'token');
  if (fromQuery !== undefined) {
    if (!auth.isToken(fromQuery)) return { kind: 'deny', status: 403 };
    if (!allowRedirect) return { kind: 'allow' };
    const query = removeQueryParam(target.query, 'token');
    const location = toLocation(query === '' ? target.path : `${target.path}?${query}`);
    return { kind: 'redirect', location };
  }
  const authorization = headers.authorization;
  const presented = authorization === undefined ? undefined : getPresentedToken(authorization);
  if (presented !== undefined && auth.isToken(presented)) return { kind: 'allow' };
  // Another scheme (Basic, from a proxy in front) leaves the cookie to decide.
  const cookies = getCookieValues(headers.cookie, auth.cookie.name);
  if (cookies.some((value) => auth.isCookie(value))) return { kind: 'allow' };
  return { kind: 'deny', status: presented === undefined ? 401 : 403 };
}

// The token of `Authorization: token <t>` (or `Bearer <t>`).
function getPresentedToken(authorization: string): string | undefined {
  return /^(?:token|bearer)\s+(\S+)$/i.exec(authorization.trim())?.[1];
}

// A path the browser follows as a path of this host: anything but visible ASCII is
// percent-encoded, backslashes too (a browser reads `/\x` as `//x`, another host).
function toLocation(target: string): string {
  return target.replace(
    /[^\x21-\x5b\x5d-\x7e]/g,
    (char) => `%${char.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`,
  );
}

// Compares in constant time: the given value's bytes with the secret's (timingSafeEqual) and,
// when the lengths differ, the secret with itself, so that neither the time nor the outcome of
// the comparison tells how much of a guess was right, nor how long the secret is. Hashing both
// sides to 32 bytes first did the same at several times the cost: about a microsecond of every
// request, 2% of serve's CPU for one (a --cpu-prof of serve under npm run bench's load).
export function createSecretMatcher(secret: string): (given: string) => boolean {
  const expected = Buffer.from(secret);
  return (given) => {
    const bytes = Buffer.from(given);
    const sameLength = bytes.length === expected.length;
    return timingSafeEqual(sameLength ? bytes : expected, expected) && sameLength;
  };
}
