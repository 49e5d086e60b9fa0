import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { isAuthorized } from './authorize.js';
import type { AdapterCore } from './core.js';
import {
  createExchange,
  getClientTarget,
  getMountPath,
  isGone,
  markGone,
  prepareForward,
  type Exchange,
} from './exchange.js';
import { asProxyError, judgeBackendFailure } from './failure.js';
import { forwardUpgrade } from './forward-upgrade.js';
import { routeRequest } from './prefix.js';
import { getBackendSocket } from './readiness.js';
import { chooseFormat, renderError, sendRenderedRaw, type Refusal } from './responses.js';
import { getUpgradeProblem } from './websocket.js';

// Carries one WebSocket handshake to rserver, or refuses it with a raw HTTP answer and closes
// the socket. Every refusal happens before rserver is contacted.
export function handleUpgrade(
  core: AdapterCore,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  prefixOverride?: string,
): void {
  // Node drops its own 'error' listener from an upgraded socket: without this one, a client
  // resetting the connection would crash the host process.
  socket.on('error', () => socket.destroy());
  core.touch();
  const refuse = (status: number, refusal: Refusal) =>
    sendRenderedRaw(socket, renderError(status, refusal, chooseFormat(req.headers.accept)));
  if (core.closed) {
    refuse(503, { code: 'EUNAVAILABLE', message: 'The RStudio proxy is shutting down.' });
    return;
  }
  const prefix = prefixOverride ?? core.options.prefix ?? getMountPath(req) ?? '';
  const route = routeRequest(getClientTarget(req), prefix);
  if (route.kind !== 'proxy') {
    if (route.kind === 'invalid') refuse(400, { message: 'The request target is not a path.' });
    else refuse(404, { message: `Not found: RStudio is at ${prefix}/.` });
    return;
  }
  const problem = getUpgradeProblem(req.method, req.headers);
  if (problem !== undefined) {
    refuse(400, { message: problem });
    return;
  }
  const exchange = createExchange(req, prefix, route.path);
  exchange.client = socket;
  core.live.add(exchange);
  // Before the 101 the backend request goes with the client; after it, linkSockets ends the
  // backend socket gracefully so a final close frame is not cut.
  socket.once('close', () => {
    core.live.delete(exchange);
    core.touch();
    markGone(exchange);
    if (!exchange.upgraded) exchange.proxyReq?.destroy();
  });
  connect(core, exchange, socket, head, refuse).catch((error: unknown) => {
    core.report(asProxyError(error), req);
    socket.destroy();
  });
}

async function connect(
  core: AdapterCore,
  exchange: Exchange,
  socket: Duplex,
  head: Buffer,
  refuse: (status: number, refusal: Refusal) => void,
): Promise<void> {
  const { req } = exchange;
  if (!(await isAuthorized(core, req, refuse)) || isGone(exchange)) return;
  let socketPath: string;
  try {
    socketPath = await getBackendSocket(core.options.backend, core.options.startTimeout, exchange);
  } catch (error) {
    if (isGone(exchange)) return;
    const failure = asProxyError(error);
    core.report(failure, req);
    refuse(503, failure);
    return;
  }
  if (isGone(exchange)) return;
  exchange.socketPath = socketPath;
  const headers = prepareForward(exchange, core.options.trustProxy, true);
  forwardUpgrade(core, exchange, socket, head, socketPath, headers, (error: Error) => {
    onUpgradeError(core, exchange, socket, refuse, error);
  });
}

// Each upgrade's own error callback. Before any answer from rserver the client gets a 502/503/504;
// after it, both sockets are destroyed.
function onUpgradeError(
  core: AdapterCore,
  exchange: Exchange,
  socket: Duplex,
  refuse: (status: number, refusal: Refusal) => void,
  error: Error,
): void {
  if (isGone(exchange)) {
    socket.destroy();
    return;
  }
  const started = exchange.upgraded || exchange.responded;
  void judgeBackendFailure(core.options.backend, error, {
    timedOut: exchange.timedOut ? core.options.proxyTimeout : undefined,
    midResponse: started,
    socketPath: exchange.socketPath,
  }).then(({ failure, status }) => {
    const gone = isGone(exchange);
    if (!gone) core.report(failure, exchange.req);
    if (started || gone) {
      socket.destroy();
      exchange.proxySocket?.destroy();
      return;
    }
    refuse(status, failure);
  });
}
