import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Exchange } from './exchange.js';

/** What the adapter knows about the connection a request came in on. */
export interface RequestFacts {
  headers: IncomingHttpHeaders;
  /** The connection to the embedding server is TLS. */
  encrypted: boolean;
  remoteAddress?: string | undefined;
  localAddress?: string | undefined;
  localPort?: number | undefined;
}

export interface ClientOrigin {
  proto: 'http' | 'https';
  /** Host and optional port, as the client sent them. */
  host: string;
}

// A Host value: a reg-name or bracketed IP literal and an optional port. Commas, spaces and
// anything that could smuggle a path or a second host into a URL are refused.
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%-]+)(?::\d{1,5})?$/;

export function isValidHost(value: string): boolean {
  return HOST.test(value);
}

// The first element of a list-valued header (proxies append with commas; Node joins repeats).
function firstOf(value: string | string[] | undefined): string | undefined {
  const joined = Array.isArray(value) ? value.join(',') : value;
  const first = joined?.split(',')[0]?.trim();
  return first === '' ? undefined : first;
}

// The scheme and host the client used. X-Forwarded-Proto/Host come from whoever connects, so
// they are read only when the embedding server says a proxy it trusts sets them.
export function getClientOrigin(facts: RequestFacts, trustProxy: boolean): ClientOrigin {
  let proto: ClientOrigin['proto'] = facts.encrypted ? 'https' : 'http';
  let host: string | undefined;
  if (trustProxy) {
    const forwardedProto = firstOf(facts.headers['x-forwarded-proto'])?.toLowerCase();
    if (forwardedProto === 'https' || forwardedProto === 'wss') proto = 'https';
    else if (forwardedProto === 'http' || forwardedProto === 'ws') proto = 'http';
    const forwardedHost = firstOf(facts.headers['x-forwarded-host']);
    if (forwardedHost !== undefined && isValidHost(forwardedHost)) host = forwardedHost;
  }
  const hostHeader = facts.headers.host?.trim();
  if (host === undefined && hostHeader !== undefined && isValidHost(hostHeader)) host = hostHeader;
  return { proto, host: host ?? getLocalHost(facts) };
}

// An HTTP/1.0 client may send no Host: the address it connected to is the best answer left.
function getLocalHost(facts: RequestFacts): string {
  const address = facts.localAddress;
  if (address === undefined || address === '') return 'localhost';
  const bare = address.startsWith('::ffff:') ? address.slice(7) : address;
  const host = bare.includes(':') ? `[${bare}]` : bare;
  return facts.localPort === undefined ? host : `${host}:${facts.localPort}`;
}

export function formatOrigin(origin: ClientOrigin): string {
  return `${origin.proto}://${origin.host}`;
}

// Hop-by-hop headers (RFC 9110 §7.6.1), proxy credentials meant for the embedding server, and
// `Expect`, which the embedding server has answered (Node's http.Server sends 100 Continue
// itself). http-proxy sends a request that carries Expect before its 'proxyReq' hook runs, so
// rserver would get the path unrestored and no silence watch.
const HOP_BY_HOP = new Set([
  'connection',
  'expect',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
]);

// Headers that tell rserver where the client is; only the adapter may set them, else a client
// could make rserver build redirects to any host it likes (X-RStudio-Request is a full URL).
const FORWARDING = new Set([
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-proto',
  'x-forwarded-server',
  'x-rstudio-request',
  'x-rstudio-root-path',
]);

// What the adapter knows about a request's connection, from the request. The address the client
// connected to is read only when Host cannot name it (an HTTP/1.0 client): Node keeps what it
// read on the socket, for as long as the connection (a WebSocket) lives.
export function getRequestFacts(req: IncomingMessage): RequestFacts {
  const socket = req.socket as Partial<TLSSocket> | undefined;
  const host = req.headers.host;
  const local = host === undefined || !isValidHost(host.trim()) ? socket : undefined;
  return {
    headers: req.headers,
    encrypted: socket?.encrypted === true,
    remoteAddress: socket?.remoteAddress,
    localAddress: local?.localAddress,
    localPort: local?.localPort,
  };
}

// The headers an exchange's request to rserver carries. The client's origin is worked out once
// and kept on the exchange: it feeds both these headers and the Location rewriting on the way
// back, so the two always agree.
export function prepareForward(
  exchange: Exchange,
  req: IncomingMessage,
  trustProxy: boolean,
  upgrade: boolean,
): Record<string, string | string[]> {
  const facts = getRequestFacts(req);
  const origin = getClientOrigin(facts, trustProxy);
  exchange.facts = facts;
  exchange.origin = origin;
  const headers = buildBackendHeaders(facts, {
    origin,
    prefix: exchange.prefix,
    trustProxy,
    upgrade,
  });
  // Some servers wait for a body that never comes on a DELETE or OPTIONS without a length.
  const { method } = req;
  if (
    (method === 'DELETE' || method === 'OPTIONS') &&
    headers['transfer-encoding'] === undefined &&
    headers['content-length'] === undefined
  ) {
    headers['content-length'] = '0';
  }
  return headers;
}

const NOT_FORWARDED: ReadonlySet<string> = new Set([...HOP_BY_HOP, ...FORWARDING]);

export interface BackendHeaderOptions {
  origin: ClientOrigin;
  prefix: string;
  trustProxy: boolean;
  /** A WebSocket upgrade: keep `Connection: Upgrade` and `Upgrade: websocket`. */
  upgrade: boolean;
}

// The headers rserver receives: the client's end-to-end headers unchanged (cookies,
// X-RS-CSRF-Token, Sec-WebSocket-*), hop-by-hop ones dropped, and the adapter's own
// forwarding headers, from which rserver builds its URLs and marks cookies Secure.
export function buildBackendHeaders(
  facts: RequestFacts,
  options: BackendHeaderOptions,
): Record<string, string | string[]> {
  // Every request passes here: no intermediate arrays unless a Connection header lists names.
  const listed = listConnectionOptions(facts.headers.connection);
  const headers: Record<string, string | string[]> = {};
  for (const name in facts.headers) {
    const value = facts.headers[name];
    if (value === undefined || NOT_FORWARDED.has(name)) continue;
    if (listed?.has(name) === true) continue;
    headers[name] = value;
  }
  const own = facts.remoteAddress === '' ? undefined : facts.remoteAddress;
  if (options.trustProxy) {
    const chain = firstList(facts.headers['x-forwarded-for']);
    if (own !== undefined) chain.push(own);
    if (chain.length > 0) headers['x-forwarded-for'] = chain.join(', ');
  } else if (own !== undefined) {
    headers['x-forwarded-for'] = own;
  }
  headers['x-forwarded-proto'] = options.origin.proto;
  headers['x-forwarded-host'] = options.origin.host;
  if (options.prefix !== '') headers['x-rstudio-root-path'] = options.prefix;
  if (options.upgrade) {
    headers.connection = 'Upgrade';
    headers.upgrade = 'websocket';
  }
  return headers;
}

const PLAIN_CONNECTION = /^\s*(?:keep-alive|close)\s*$/i;

// The header names a Connection header lists (lower case), or undefined when it lists none:
// `keep-alive` and `close`, what nearly every client and server sends, are options, not names.
export function listConnectionOptions(value: string | undefined): Set<string> | undefined {
  if (value === undefined || value === '' || PLAIN_CONNECTION.test(value)) return undefined;
  return new Set(value.split(',').map((token) => token.trim().toLowerCase()));
}

function firstList(value: string | string[] | undefined): string[] {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
