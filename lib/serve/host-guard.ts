import { RSessionProxyError } from '../errors.js';

/** Host names every serve accepts: the ends of an ssh tunnel or a local browser. */
export const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'] as const;

const HOST_NAME = /^[A-Za-z0-9.-]{1,253}$/;

// A host name as the Host header carries it, without a port: nothing that could hide a path.
export function validateAllowHost(host: unknown, source: string): string {
  if (typeof host === 'string' && HOST_NAME.test(host)) return host;
  throw new RSessionProxyError(
    'EINVALIDOPTION',
    `Expected ${source} to be a host name such as rstudio.example.org, got ${typeof host === 'string' ? JSON.stringify(host) : String(host)}.`,
  );
}

// The host name of a Host header value, lower-cased, without the port; undefined when the value
// is not a plain host[:port] (userinfo, paths, spaces… are never valid there).
export function parseHostHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!match?.[1]) return undefined;
  if (match[2] !== undefined && Number(match[2]) > 65_535) return undefined;
  return match[1].toLowerCase().replace(/\.$/, '');
}

// DNS rebinding: a page on the user's laptop can make the browser send requests to the tunnel's
// localhost port under the page's own host name. Only requests naming an allowed host pass,
// as Jupyter does for the same reason.
export function createHostGuard(
  allowHosts: readonly string[] = [],
): (host: string | undefined) => boolean {
  const allowed = new Set<string>([...LOOPBACK_HOSTS, ...allowHosts.map((h) => h.toLowerCase())]);
  // Nearly every request names the host the one before it named: the last one allowed is
  // remembered as it was sent, and passes without being parsed again.
  let lastAllowed: string | undefined;
  return (host) => {
    if (host === lastAllowed && host !== undefined) return true;
    const name = parseHostHeader(host);
    if (name === undefined || !allowed.has(name)) return false;
    lastAllowed = host;
    return true;
  };
}
