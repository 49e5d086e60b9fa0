import type { IncomingHttpHeaders } from 'node:http';

function tokens(value: string | string[] | undefined): string[] {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined.split(',').map((token) => token.trim().toLowerCase());
}

// Only a well-formed RFC 6455 handshake is carried to rserver: an upgrade to anything else
// (h2c, a bare TCP tunnel) would hand the client a raw pipe into the backend.
export function getUpgradeProblem(
  method: string | undefined,
  headers: IncomingHttpHeaders,
): string | undefined {
  if (method !== 'GET') return `A WebSocket handshake must use GET, not ${method ?? 'nothing'}.`;
  const upgrade = tokens(headers.upgrade);
  if (upgrade.length !== 1 || upgrade[0] !== 'websocket') {
    return `Only "Upgrade: websocket" is proxied, not ${JSON.stringify(headers.upgrade ?? '')}.`;
  }
  if (!tokens(headers.connection).includes('upgrade')) {
    return 'A WebSocket handshake must carry "Connection: Upgrade".';
  }
  const key = headers['sec-websocket-key'];
  if (typeof key !== 'string' || !/^[A-Za-z0-9+/]{22}==$/.test(key.trim())) {
    return 'A WebSocket handshake must carry a valid Sec-WebSocket-Key.';
  }
  if (headers['sec-websocket-version'] !== '13') {
    return 'Only WebSocket version 13 is supported.';
  }
  return undefined;
}
