export type Route =
  /** Forward to rserver with this origin-form target (prefix removed, query kept, as sent). */
  | { kind: 'proxy'; path: string }
  /** The prefix without its trailing slash: send the client to `location`. */
  | { kind: 'redirect'; location: string }
  /** Not under the prefix: not the adapter's request. */
  | { kind: 'outside' }
  /** A request target that is not a path ('*', authority-form, garbage). */
  | { kind: 'invalid' };

const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

// Reduces a request target to origin-form. An absolute-form target (`GET http://evil/x`) keeps
// only its path and query: the backend is fixed, whatever authority the request line names.
export function toOriginForm(target: string): string | undefined {
  if (target.startsWith('/')) return target;
  const authority = ABSOLUTE_FORM.exec(target);
  if (!authority) return undefined;
  const rest = target.slice(authority[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

// The characters Node.js accepts in a request target; anything else (which a client could only
// send to a lenient front server) is percent-encoded rather than refused.
const VALID_TARGET = /^[\x21-\xff]+$/;

// rserver receives the path exactly as the client sent it, minus the prefix: repeated slashes,
// `%2F` and all.
function toBackendTarget(path: string): string {
  return VALID_TARGET.test(path)
    ? path
    : path.replace(/[^\x21-\xff]/gu, (char) => encodeURIComponent(char));
}

// Decides what to do with a request target given the prefix the adapter is mounted under.
export function routeRequest(target: string, prefix: string): Route {
  const originForm = toOriginForm(target);
  if (originForm === undefined) return { kind: 'invalid' };
  if (prefix === '') return { kind: 'proxy', path: toBackendTarget(originForm) };
  const queryAt = originForm.indexOf('?');
  const pathname = queryAt < 0 ? originForm : originForm.slice(0, queryAt);
  const query = queryAt < 0 ? '' : originForm.slice(queryAt);
  if (pathname === prefix) return { kind: 'redirect', location: `${prefix}/${query}` };
  if (pathname.startsWith(`${prefix}/`)) {
    return { kind: 'proxy', path: toBackendTarget(originForm.slice(prefix.length)) };
  }
  return { kind: 'outside' };
}
