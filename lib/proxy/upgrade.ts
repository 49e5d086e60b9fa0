import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { admit } from './admission.js';
import type { AdapterCore } from './core.js';
import { isGone, type Exchange } from './exchange.js';
import { checkBackend, judgeBackendFailure } from './failure.js';
import { callEngine } from './engine.js';
import { refuseClient } from './responses.js';
import { destroyTunnel } from './tunnel.js';

// Carries one WebSocket handshake to rserver, or refuses it with a raw HTTP answer and closes
// the socket. Every refusal happens before rserver is contacted.
export function handleUpgrade(
  core: AdapterCore,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  prefix?: string,
): void {
  socket.on('error', destroyTunnel);
  admit(core, {
    req,
    client: { socket },
    prefix,
    forward: (exchange) => forwardUpgrade(core, exchange, req, socket, head),
  });
}

// Hands the handshake to http-proxy. On 101 the client gets rserver's answer and the sockets are
// tied together (tunnel.ts); any other answer is relayed and the connection closed.
function forwardUpgrade(
  core: AdapterCore,
  exchange: Exchange,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
) {
  callEngine(core, exchange, req, true, (engine) => {
    engine.ws(req, socket, head, (error) => onUpgradeError(core, exchange, req, socket, error));
  });
}

// The handshake's own error callback. Before any answer from rserver the client gets a
// 502/503/504, written at once: http-proxy ends the client's socket as soon as this returns.
// (The backend's check of its socket then runs behind the answer, for the next handshake.)
// After an answer began, or after the 101, both sockets are destroyed.
function onUpgradeError(
  core: AdapterCore,
  exchange: Exchange,
  req: IncomingMessage,
  socket: Duplex,
  error: Error,
) {
  const { backend } = core.options;
  const started = exchange.upgraded || exchange.responded;
  if (!started) void checkBackend(backend, error);
  const gone = isGone(exchange);
  const { failure, status } = judgeBackendFailure(backend, error, {
    timedOut: exchange.timedOut ? core.options.proxyTimeout : undefined,
    midResponse: started,
    endpoint: exchange.endpoint,
  });
  if (!gone) core.report(failure, req);
  if (started || gone) {
    socket.destroy();
    exchange.proxySocket?.destroy();
    return;
  }
  refuseClient(req, { socket }, status, failure);
}
