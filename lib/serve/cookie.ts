import { createHash, randomBytes } from 'node:crypto';
import type { ListenSpec } from './listen.js';

/** Every cookie of the front's starts with this; none of them is ever passed on to rserver. */
export const FRONT_COOKIE_PREFIX = 'rsession-proxy-';

/** The cookie a browser gets in exchange for the token. */
export interface FrontCookie {
  /** `rsession-proxy-<instance>-<port>`, or `-<listener id>` for a Unix listener. */
  name: string;
  /** Random for each run of serve: a cookie dies with the serve that issued it. */
  value: string;
  /** The prefix: the browser sends it nowhere else. */
  path: string;
}

// A cookie of this run on this listener. Its name carries the port (TCP) or a hash of the
// socket's path (Unix), because browsers do not keep cookies apart by port: two serves of the
// same instance name, yours and another user's, must not overwrite each other's.
export function createFrontCookie(
  instance: string,
  listener: ListenSpec,
  prefix: string,
): FrontCookie {
  const id =
    'path' in listener
      ? createHash('sha256').update(listener.path).digest('hex').slice(0, 12)
      : String(listener.port);
  return {
    name: `${FRONT_COOKIE_PREFIX}${instance}-${id}`,
    value: randomBytes(32).toString('base64url'),
    path: prefix,
  };
}

// The Set-Cookie value: HttpOnly (page scripts never see it) and SameSite=Strict (no other
// site's page makes the browser send it); Secure when the browser came over https (a TLS front),
// so that it never travels in clear; no expiry, since it is worthless once serve stops.
export function formatFrontCookie(cookie: FrontCookie, secure: boolean): string {
  const attributes = `Path=${cookie.path}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  return `${cookie.name}=${cookie.value}; ${attributes}`;
}

// Every value of the cookie `name` in a Cookie header (a browser sends one per matching path).
export function getCookieValues(header: string | undefined, name: string): string[] {
  if (header === undefined || !header.includes(name)) return [];
  const values: string[] = [];
  for (const part of header.split(';')) {
    const equals = part.indexOf('=');
    if (equals > 0 && part.slice(0, equals).trim() === name) {
      values.push(part.slice(equals + 1).trim());
    }
  }
  return values;
}

// The Cookie header without the front's cookies (this serve's and any other's), every other
// cookie exactly as the client sent it; undefined when none is left.
export function removeFrontCookies(header: string | undefined): string | undefined {
  if (header === undefined || !header.includes(FRONT_COOKIE_PREFIX)) return header;
  const kept = header
    .split(';')
    .filter((part) => !part.trimStart().startsWith(FRONT_COOKIE_PREFIX))
    .map((part) => part.trim())
    .filter((part) => part !== '');
  return kept.length === 0 ? undefined : kept.join('; ');
}
