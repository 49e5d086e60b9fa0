/** The statuses whose Location the adapter rewrites (RSERVER.md §4). */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

export interface LocationContext {
  /** The client's origin as it sent it, e.g. `https://hub.example.org` (no trailing slash). */
  origin: string;
  /** The normalised prefix ('' or '/rstudio'). */
  prefix: string;
  /** The origin-form target as forwarded to rserver, without the prefix. */
  backendPath: string;
  /** Lower-case host names (IPv6 in brackets) that mean "rserver's own view of itself". */
  backendHosts: ReadonlySet<string>;
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
// Anything that resolves against this base and keeps its host stayed on the backend.
const RELATIVE_BASE = 'http://backend.invalid';

// Makes a redirect from rserver land where the client can follow it: rserver builds absolute
// URLs from headers (a port inserted, a comma-joined host, a lost prefix are all seen in the
// wild) and the R help server answers with relative `../` paths. A Location that names another
// host is the application's business and is left alone.
export function rewriteLocation(location: string, context: LocationContext): string {
  const value = location.trim();
  if (value === '') return location;
  const scheme = SCHEME.exec(value);
  if (scheme) {
    const name = (scheme[1] ?? '').toLowerCase();
    const rest = value.slice(scheme[0].length);
    if ((name !== 'http' && name !== 'https') || !rest.startsWith('//')) return location;
    return rewriteNetworkPath(rest.slice(2), context) ?? location;
  }
  if (value.startsWith('//')) return rewriteNetworkPath(value.slice(2), context) ?? location;
  if (value.startsWith('/') && !value.startsWith('/\\')) return addPrefix(value, context.prefix);
  return resolveRelative(value, context) ?? location;
}

// `authority/path?query` of an absolute or scheme-relative Location: rewritten to the client's
// origin when the authority is the backend's, else undefined.
function rewriteNetworkPath(afterSlashes: string, context: LocationContext): string | undefined {
  const end = afterSlashes.search(/[/?#\\]/);
  const authority = end < 0 ? afterSlashes : afterSlashes.slice(0, end);
  const rest = end < 0 ? '' : afterSlashes.slice(end);
  const host = getHostname(authority);
  if (host === undefined || !context.backendHosts.has(host)) return undefined;
  if (rest.startsWith('\\')) return undefined;
  const path = rest.startsWith('/') ? rest : `/${rest}`;
  return `${context.origin}${addPrefix(path, context.prefix)}`;
}

// The host name an authority names: userinfo dropped, the first of comma-joined hosts (a proxy
// that appends to X-Forwarded-Host makes rserver write `https://a.org, a.org/...`), port dropped.
export function getHostname(authority: string): string | undefined {
  const hostPort = (authority.split(',')[0] ?? '').trim();
  const host = hostPort.slice(hostPort.lastIndexOf('@') + 1);
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    return close < 0 ? undefined : host.slice(0, close + 1).toLowerCase();
  }
  const name = host.replace(/:\d*$/, '').toLowerCase();
  return name === '' ? undefined : name;
}

// rserver puts the prefix it was told (X-RStudio-Root-Path) into its URLs; a URL that already
// carries it must not get it twice, one that lost it gets it back.
export function addPrefix(path: string, prefix: string): string {
  if (prefix === '') return path;
  const end = path.search(/[?#]/);
  const pathname = end < 0 ? path : path.slice(0, end);
  if (pathname === prefix || pathname.startsWith(`${prefix}/`)) return path;
  return `${prefix}${path}`;
}

// A relative Location is relative to the URL the client asked for; resolving it against the
// backend path (so `..` stops at rserver's root, as it does for rserver) and then adding the
// prefix gives the absolute path the client must follow.
function resolveRelative(reference: string, context: LocationContext): string | undefined {
  let resolved: URL;
  try {
    resolved = new URL(reference, `${RELATIVE_BASE}${context.backendPath}`);
  } catch {
    return undefined;
  }
  if (resolved.origin !== RELATIVE_BASE) return undefined;
  return `${context.prefix}${resolved.pathname}${resolved.search}${resolved.hash}`;
}
