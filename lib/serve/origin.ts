import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { formatOrigin, getClientOrigin } from '../proxy/forwarded.js';

// Methods a page of another site must not make the front carry out (with the browser's cookie).
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

// The origin the client reaches this front at (`http://localhost:8787`): the scheme of the
// connection and the Host header, which the host guard has already checked; with
// `--trust-proxy`, the scheme and host the TLS front in front of serve saw (its forwarding
// headers, reduced to what serve believes by applyFrontForwarding). The one place that decides it.
export function getFrontOrigin(req: IncomingMessage, trustProxy: boolean): string {
  const socket = req.socket as Partial<TLSSocket>;
  const origin = getClientOrigin(
    {
      headers: req.headers,
      encrypted: socket.encrypted === true,
      localAddress: socket.localAddress,
      localPort: socket.localPort,
    },
    trustProxy,
  );
  return formatOrigin(origin);
}

// Cross-site request forgery and WebSocket hijacking: a page of another origin can make the
// browser send a form POST or open a WebSocket to the front, cookie included, but it cannot
// hide its Origin. RStudio's own pages send same-origin requests; clients without an Origin
// (curl, scripts) are not browsers and need the token anyway.
export function isForeignOrigin(
  req: IncomingMessage,
  upgrade: boolean,
  trustProxy: boolean,
): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  if (!upgrade && !STATE_CHANGING.has(req.method ?? '')) return false;
  return !isSameOrigin(origin, getFrontOrigin(req, trustProxy));
}

// Origins compared as browsers serialise them: scheme and host in lower case, without the
// scheme's default port. An https Origin with the very host the request names is the front's
// too: a TLS proxy in front of serve that passes Host through (no page of anyone else's can be
// served from that host and port).
export function isSameOrigin(origin: string, frontOrigin: string): boolean {
  const given = normalizeOrigin(origin);
  const own = normalizeOrigin(frontOrigin);
  if (given === undefined || own === undefined) return false;
  if (given === own) return true;
  return own.startsWith('http://') && given === `https://${own.slice('http://'.length)}`;
}

const ORIGIN = /^(https?):\/\/(\[[0-9a-f:.]+\]|[a-z0-9._~%-]+)(?::(\d{1,5}))?$/;

// `scheme://host[:port]` in canonical form, or undefined for anything else (`null`, paths).
function normalizeOrigin(origin: string): string | undefined {
  const match = ORIGIN.exec(origin.trim().toLowerCase());
  if (!match?.[1] || !match[2]) return undefined;
  const [, scheme, host, port] = match;
  const defaultPort = scheme === 'https' ? '443' : '80';
  return port === undefined || port === defaultPort
    ? `${scheme}://${host}`
    : `${scheme}://${host}:${port}`;
}
