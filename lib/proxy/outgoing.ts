import type { ClientRequest } from 'node:http';
import type { AdapterCore } from './core.js';
import { isGone, type Exchange } from './exchange.js';

// The request to rserver as http-proxy made it (its 'proxyReq' and 'proxyReqWs' hooks), before
// its request line is written: on the first write, which comes after these hooks (Expect,
// which makes Node write at once, is not forwarded: see forwarded.ts).
export function prepareOutgoing(core: AdapterCore, exchange: Exchange, proxyReq: ClientRequest) {
  exchange.proxyReq = proxyReq;
  // http-proxy joins paths with a helper that collapses `//` and turns `http:/` into `http://`;
  // rserver gets the path exactly as the client sent it (minus the prefix).
  proxyReq.path = exchange.backendPath;
  // The client left between the call and this hook.
  if (isGone(exchange)) {
    proxyReq.destroy();
    return;
  }
  // Watched for rserver's silence until the exchange is finished (exchange.ts), or for a
  // WebSocket until rserver answered the handshake (tunnel.ts).
  core.silence.watch(exchange);
}
