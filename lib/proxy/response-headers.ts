import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import type { Exchange } from './exchange.js';
import {
  formatOrigin,
  listConnectionOptions,
  type ClientOrigin,
  type RequestFacts,
} from './forwarded.js';
import {
  getHostname,
  REDIRECT_STATUSES,
  rewriteLocation,
  type LocationContext,
} from './location.js';

// rserver's response headers as the client receives them: its redirects are built from its view
// of the request (RSERVER.md §4) and are made to point where the client can follow them.
// `framed`: the body keeps rserver's framing (a plain response to an HTTP/1.1 client).
export function getResponseHeaders(
  exchange: Exchange,
  proxyRes: IncomingMessage,
  framed: boolean,
): string[] {
  const headers = filterResponseHeaders(proxyRes.rawHeaders, !framed);
  if (!REDIRECT_STATUSES.has(proxyRes.statusCode ?? 0)) return headers;
  const context = getLocationContext(exchange);
  for (let i = 0; context !== undefined && i < headers.length; i += 2) {
    if (headers[i]?.toLowerCase() === 'location') {
      headers[i + 1] = rewriteLocation(headers[i + 1] ?? '', context);
    }
  }
  return headers;
}

// What rewriting a redirect needs, worked out only for a redirect: most answers are not, and
// the host names rserver could have used cost a system call to list.
function getLocationContext(exchange: Exchange): LocationContext | undefined {
  const { facts, origin } = exchange;
  if (facts === undefined || origin === undefined) return undefined;
  return {
    origin: formatOrigin(origin),
    prefix: exchange.prefix,
    backendPath: exchange.backendPath,
    backendHosts: getBackendHosts(facts, origin),
  };
}

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]', '0.0.0.0', '[::]'];

// Every host name rserver could have put into an absolute redirect: the ones it was told in
// Host and X-Forwarded-Host, and the ones it might make up from its own view of the machine.
export function getBackendHosts(facts: RequestFacts, origin: ClientOrigin): Set<string> {
  const hosts = new Set(LOOPBACK_HOSTS);
  hosts.add(hostname().toLowerCase());
  for (const value of [origin.host, facts.headers.host]) {
    const name = value === undefined ? undefined : getHostname(value);
    if (name !== undefined) hosts.add(name);
  }
  return hosts;
}

// Response headers that describe rserver's connection, not the response: passing on its
// `Connection: close` would close the client's connection for no reason.
const RESPONSE_HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'trailer']);

// rserver's response headers as the client gets them, from the raw list (`[name, value, ...]`,
// case and repeated Set-Cookie lines kept as rserver sent them): connection-scoped ones and those
// its Connection header names dropped. Transfer-Encoding is dropped too when the body is not
// sent in rserver's framing (to an HTTP/1.0 client, or relayed raw): the body arrives decoded.
export function filterResponseHeaders(
  raw: readonly string[],
  dropTransferEncoding: boolean,
): string[] {
  let listed: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (!isNamed(raw[i] ?? '', 'connection')) continue;
    const names = listConnectionOptions(raw[i + 1]);
    names?.delete('transfer-encoding');
    if (names !== undefined) listed = new Set([...(listed ?? []), ...names]);
  }
  const kept: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    // Lower-casing every name of every answer is garbage; only names of a dropped one's length
    // can be dropped, and their usual spellings are known as they are.
    if (DROPPABLE_LENGTHS.has(name.length) || listed !== undefined) {
      const lower = USUAL_SPELLINGS.get(name) ?? name.toLowerCase();
      if (RESPONSE_HOP_BY_HOP.has(lower) || listed?.has(lower) === true) continue;
      if (dropTransferEncoding && lower === 'transfer-encoding') continue;
    }
    kept.push(name, raw[i + 1] ?? '');
  }
  return kept;
}

const DROPPABLE_LENGTHS = new Set(
  [...RESPONSE_HOP_BY_HOP, 'transfer-encoding'].map((name) => name.length),
);

// The droppable names as servers spell them, known without a new lower-case string.
const USUAL_SPELLINGS: ReadonlyMap<string, string> = new Map(
  ['Connection', 'Keep-Alive', 'Proxy-Connection', 'Trailer', 'Transfer-Encoding'].flatMap(
    (name) => [
      [name, name.toLowerCase()],
      [name.toLowerCase(), name.toLowerCase()],
    ],
  ),
);

// Whether a header name is `lowerName`, whatever its case, without a new string per check.
function isNamed(name: string, lowerName: string): boolean {
  return name.length === lowerName.length && name.toLowerCase() === lowerName;
}
