import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AdapterCore } from './core.js';
import { isGone, type Exchange } from './exchange.js';
import { getResponseHeaders, requestBackend } from './forward-request.js';
import { linkSockets } from './websocket.js';

// Sends a WebSocket handshake to rserver's socket. On 101 the client gets rserver's answer as it
// is (its Upgrade and Connection included) and the two sockets are tied together; any other
// answer is relayed and the connection closed. `onError` gets a failure to connect, a reset,
// or the silence timeout before rserver answered.
export function forwardUpgrade(
  core: AdapterCore,
  exchange: Exchange,
  client: Duplex,
  head: Buffer,
  socketPath: string,
  headers: Record<string, string | string[]>,
  onError: (error: Error) => void,
): void {
  // The silence timeout is for the handshake: a WebSocket may stay quiet for hours. The request
  // closes on the 101, on any other answer's end, or on failure.
  const proxyReq = requestBackend(core, exchange, socketPath, 'GET', headers, onError);
  proxyReq.once('response', (proxyRes: IncomingMessage) => {
    exchange.responded = true;
    relayRefusal(exchange, client, proxyRes);
  });
  proxyReq.once('upgrade', (proxyRes: IncomingMessage, proxySocket: Socket, proxyHead: Buffer) => {
    exchange.upgraded = true;
    exchange.proxySocket = proxySocket;
    // Only the two sockets live on: the handshake's objects can go.
    exchange.proxyReq = undefined;
    exchange.facts = undefined;
    if (client.destroyed || isGone(exchange)) {
      proxySocket.destroy();
      return;
    }
    // No socket timeout: the agent's idle timeout is for pooled connections, not a WebSocket.
    proxySocket.setTimeout(0);
    proxySocket.setNoDelay(true);
    if (proxyHead.length > 0) proxySocket.unshift(proxyHead);
    client.write(
      formatHead(proxyRes.statusCode ?? 101, proxyRes.statusMessage, proxyRes.rawHeaders),
    );
    proxySocket.pipe(client);
    client.pipe(proxySocket);
    linkSockets(client, proxySocket);
    // Counting frames after the pipes are in place cannot take data away from them.
    proxySocket.on('data', core.touch);
    client.on('data', core.touch);
  });
  if (head.length > 0) client.unshift(head);
  proxyReq.end();
}

// rserver said no to the handshake (a redirect to sign in, a 404): the client gets that answer,
// its body as it comes, and the end of the connection (HTTP/1.1 allows a body to end so).
function relayRefusal(exchange: Exchange, client: Duplex, proxyRes: IncomingMessage): void {
  if (client.destroyed || isGone(exchange)) {
    proxyRes.destroy();
    return;
  }
  const status = proxyRes.statusCode ?? 502;
  const headers = withoutFraming(getResponseHeaders(exchange, proxyRes, status));
  client.write(formatHead(status, proxyRes.statusMessage, headers));
  proxyRes.pipe(client);
}

// The body is relayed decoded and ends with the connection: no length, no chunking, and a
// `Connection: close` that says so.
function withoutFraming(headers: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] ?? '';
    if (!/^(content-length|transfer-encoding)$/i.test(name)) kept.push(name, headers[i + 1] ?? '');
  }
  return [...kept, 'Connection', 'close'];
}

function formatHead(
  status: number,
  message: string | undefined,
  headers: readonly string[],
): string {
  const lines = [`HTTP/1.1 ${status} ${message || STATUS_CODES[status] || ''}`];
  for (let i = 0; i < headers.length; i += 2)
    lines.push(`${headers[i] ?? ''}: ${headers[i + 1] ?? ''}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}
