import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { admit } from './admission.js';
import type { AdapterCore } from './core.js';
import { isGone, type Exchange } from './exchange.js';
import { asProxyError, checkBackend, judgeBackendFailure } from './failure.js';
import { prepareForward } from './forwarded.js';
import { refuseClient } from './responses.js';

// Carries one WebSocket handshake to rserver, or refuses it with a raw HTTP answer and closes
// the socket. Every refusal happens before rserver is contacted.
export function handleUpgrade(
  core: AdapterCore,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  prefix?: string,
): void {
  // Node drops its own 'error' listener from an upgraded socket: without this one, a client
  // resetting the connection would crash the host process.
  socket.on('error', () => socket.destroy());
  admit(core, { req, client: { socket }, prefix })
    .then((exchange) => {
      if (exchange) forwardUpgrade(core, exchange, socket, head);
    })
    .catch((error: unknown) => {
      core.report(asProxyError(error), req);
      socket.destroy();
    });
}

// Hands the handshake to http-proxy, with the adapter's target and headers swapped in for the
// call (as web.ts does). On 101 the client gets rserver's answer and the sockets are tied
// together (tunnel.ts); any other answer is relayed and the connection closed.
function forwardUpgrade(core: AdapterCore, exchange: Exchange, socket: Duplex, head: Buffer) {
  const { req, endpoint } = exchange;
  if (endpoint === undefined) return;
  const headers = prepareForward(exchange, core.options.trustProxy, true);
  core.agent.useEndpoint(endpoint);
  const { url, headers: clientHeaders } = req;
  req.url = exchange.backendPath;
  req.headers = headers;
  try {
    core.engine.ws(req, socket, head, (error) => onUpgradeError(core, exchange, socket, error));
  } finally {
    req.url = url;
    req.headers = clientHeaders;
  }
}

// The handshake's own error callback. Before any answer from rserver the client gets a
// 502/503/504, written at once: http-proxy ends the client's socket as soon as this returns.
// (The backend's check of its socket then runs behind the answer, for the next handshake.)
// After an answer began, or after the 101, both sockets are destroyed.
function onUpgradeError(core: AdapterCore, exchange: Exchange, socket: Duplex, error: Error) {
  const { backend } = core.options;
  const started = exchange.upgraded || exchange.responded;
  if (!started) void checkBackend(backend, error);
  const gone = isGone(exchange);
  const { failure, status } = judgeBackendFailure(backend, error, {
    timedOut: exchange.timedOut ? core.options.proxyTimeout : undefined,
    midResponse: started,
    endpoint: exchange.endpoint,
  });
  if (!gone) core.report(failure, exchange.req);
  if (started || gone) {
    socket.destroy();
    exchange.proxySocket?.destroy();
    return;
  }
  refuseClient(exchange.req, { socket }, status, failure);
}
