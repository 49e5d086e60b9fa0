import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { isValidHost } from '../proxy/forwarded.js';

/** What the proxy nearest to serve says about the browser's request, with `--trust-proxy`. */
export interface FrontForwarding {
  proto: 'http' | 'https' | undefined;
  /** Host and optional port the browser used. */
  host: string | undefined;
}

// The scheme a forwarded proto names: CHP says `ws`/`wss` on upgrades, which are http/https
// as far as redirects, cookies and origins are concerned. Anything else is not believed.
export function toHttpScheme(proto: string | undefined): 'http' | 'https' | undefined {
  switch (proto?.trim().toLowerCase()) {
    case 'https':
    case 'wss':
      return 'https';
    case 'http':
    case 'ws':
      return 'http';
    default:
      return undefined;
  }
}

// The last element of a list-valued header: a proxy appends its own value after whatever the
// client sent (CHP: `X-Forwarded-Proto: <client's>,https`), so only the last is the nearest
// front's. Node joins repeated lines with commas as well.
export function lastOf(value: string | string[] | undefined): string | undefined {
  const joined = Array.isArray(value) ? value.join(',') : value;
  if (joined === undefined) return undefined;
  const last = joined.slice(joined.lastIndexOf(',') + 1).trim();
  return last === '' ? undefined : last;
}

// `proto=` and `host=` of the last element of an RFC 7239 Forwarded header (elements are
// comma-separated, pairs semicolon-separated, values optionally quoted).
export function parseLastForwarded(value: string | string[] | undefined): {
  proto: string | undefined;
  host: string | undefined;
} {
  const element = lastOf(value) ?? '';
  const pairs = new Map<string, string>();
  for (const pair of element.split(';')) {
    const equals = pair.indexOf('=');
    if (equals <= 0) continue;
    const name = pair.slice(0, equals).trim().toLowerCase();
    const raw = pair.slice(equals + 1).trim();
    pairs.set(name, raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw);
  }
  return { proto: pairs.get('proto'), host: pairs.get('host') };
}

// What serve believes with `--trust-proxy`: per field, the nearest front's X-Forwarded-Proto
// and X-Forwarded-Host, else the last element of its Forwarded header. A host that is not a
// plain host[:port] and a proto that is not http(s)/ws(s) are not believed.
export function readFrontForwarding(headers: IncomingHttpHeaders): FrontForwarding {
  const forwarded =
    headers.forwarded === undefined ? undefined : parseLastForwarded(headers.forwarded);
  const proto = toHttpScheme(lastOf(headers['x-forwarded-proto']) ?? forwarded?.proto);
  const host = lastOf(headers['x-forwarded-host']) ?? forwarded?.host;
  return { proto, host: host !== undefined && isValidHost(host) ? host : undefined };
}

// Leaves on the request only what serve believes, one value each, so that the adapter (which
// reads the first of each list) and serve's own Origin check, host guard and cookie see the
// same client scheme and host; what is not believed is removed, and Forwarded with it (the
// adapter sends rserver its own forwarding headers).
export function applyFrontForwarding(req: IncomingMessage): FrontForwarding {
  const believed = readFrontForwarding(req.headers);
  delete req.headers.forwarded;
  if (believed.proto === undefined) delete req.headers['x-forwarded-proto'];
  else req.headers['x-forwarded-proto'] = believed.proto;
  if (believed.host === undefined) delete req.headers['x-forwarded-host'];
  else req.headers['x-forwarded-host'] = believed.host;
  return believed;
}
