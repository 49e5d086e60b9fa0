import type { Exchange } from './exchange.js';

interface Counted {
  bytesRead?: number;
  bytesWritten?: number;
}

// How far an exchange has got: the bytes read and written on its connection to rserver (a
// pooled request's, a WebSocket's). Comparing counts when someone asks — the silence watch's
// sweep, idle shutdown's read of lastActivity — replaces a 'data' listener on every request
// body, every answer and both sockets of every WebSocket, called for every chunk and frame.
export function getProgress(exchange: Exchange): number {
  const socket = (exchange.proxySocket ?? exchange.proxyReq?.socket) as Counted | null | undefined;
  return (socket?.bytesRead ?? 0) + (socket?.bytesWritten ?? 0);
}

// Whether any of `exchanges` moved since the last look (for lastActivity).
export function noticeProgress(exchanges: Iterable<Exchange>): boolean {
  let moved = false;
  for (const exchange of exchanges) {
    const bytes = getProgress(exchange);
    if (bytes !== exchange.seenBytes) moved = true;
    exchange.seenBytes = bytes;
  }
  return moved;
}
