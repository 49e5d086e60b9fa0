import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import type { BackendAgent } from './agent.js';
import type { AdapterCore } from './core.js';
import { getExchange, type Exchange } from './exchange.js';
import { prepareForward } from './forwarded.js';
import { asProxyError } from './failure.js';
import { prepareOutgoing } from './outgoing.js';
import { relayResponse } from './relay.js';
import { answerWithSignIn, wantsSignIn } from './sign-in.js';
import { watchHandshake } from './tunnel.js';

/**
 * http-proxy's two calls, in the form the adapter makes them: never with an options argument
 * (http-proxy copies its options into a new object for every call that passes one), always with
 * the call's own error callback (without one, a failure goes to the shared 'error' event, with
 * nothing to tell which client it was for).
 */
export interface Engine {
  web(req: IncomingMessage, res: ServerResponse, onError: (error: Error) => void): void;
  ws(req: IncomingMessage, socket: Duplex, head: Buffer, onError: (error: Error) => void): void;
}

type Pass = (...args: unknown[]) => unknown;

// Makes one of the engine's calls for an admitted exchange. http-proxy reads the request's
// target and headers from `req` synchronously when it starts: what rserver receives — the path
// without the prefix, the adapter's headers — is swapped in for that call only, so that the
// embedding server's request object is left as it was. The agent is told where the connection
// goes first.
export function callEngine(
  core: AdapterCore,
  exchange: Exchange,
  req: IncomingMessage,
  upgrade: boolean,
  call: (engine: Engine) => void,
): void {
  const { endpoint } = exchange;
  if (endpoint === undefined) return;
  const headers = prepareForward(exchange, req, core.options.trustProxy, upgrade);
  core.agent.useEndpoint(endpoint);
  const { url, headers: clientHeaders } = req;
  req.url = exchange.backendPath;
  req.headers = headers;
  try {
    call(core.engine);
  } finally {
    req.url = url;
    req.headers = clientHeaders;
  }
}

// The one http-proxy server of an adapter. Its target is fixed and never consulted for where a
// connection goes (the agent decides: agent.ts); the request's target and headers are the
// adapter's (web.ts, upgrade.ts), and its own rewriting (changeOrigin, autoRewrite, hostRewrite)
// is left off: it gets 303 and relative Locations wrong and fails on socket targets.
export function createEngine(core: AdapterCore, agent: BackendAgent): Engine {
  const proxy = httpProxy.createProxyServer({
    target: { host: 'localhost', port: 80 },
    agent,
    // The request target goes through unparsed (toProxy) and the path is restored in 'proxyReq'.
    prependPath: false,
    toProxy: true,
    xfwd: false,
    selfHandleResponse: true,
  });
  // deleteLength gives a DELETE or OPTIONS without Content-Length a `Content-Length: 0` and
  // deletes its Transfer-Encoding: a chunked body would then reach rserver's connection as the
  // start of a second request. prepareForward sets the length only when there is no body.
  const passes = proxy as unknown as { webPasses: Pass[] };
  passes.webPasses = passes.webPasses.filter((pass) => pass.name !== 'deleteLength');
  // Every call has its own callback; without a listener EventEmitter3 would throw whatever
  // else http-proxy emits as 'error'.
  proxy.on('error', (error: Error, req: IncomingMessage) => {
    core.report(asProxyError(error), req);
  });
  proxy.on('proxyReq', (proxyReq, req) => {
    const exchange = getExchange(req);
    if (exchange) prepareOutgoing(core, exchange, proxyReq);
    else proxyReq.destroy();
  });
  proxy.on('proxyRes', (proxyRes, req) => {
    const exchange = getExchange(req);
    if (!exchange) proxyRes.destroy();
    // An rserver run with a password nobody types (lib/rserver/isolation.ts) is signed in to.
    else if (wantsSignIn(core, exchange, req, proxyRes))
      answerWithSignIn(core, exchange, req, proxyRes);
    else relayResponse(exchange, req, proxyRes);
  });
  proxy.on('proxyReqWs', (proxyReq, req) => {
    const exchange = getExchange(req);
    if (!exchange) {
      proxyReq.destroy();
      return;
    }
    prepareOutgoing(core, exchange, proxyReq);
    watchHandshake(exchange, proxyReq);
  });
  return proxy as unknown as Engine;
}
