import { once } from 'node:events';
import WebSocket from 'ws';

// Opens a WebSocket, resolving on 'open' or rejecting with the HTTP status the server answered
// instead (as `status` on the error), within `timeout` ms.
export async function openWebSocket(
  url: string,
  protocols: string[] = [],
  headers: Record<string, string> = {},
  timeout = 5000,
): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, { headers, handshakeTimeout: timeout });
  const refused = new Promise<never>((_, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      const error = Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode });
      res.resume();
      ws.terminate();
      reject(error);
    });
    ws.once('error', reject);
  });
  await Promise.race([once(ws, 'open'), refused]);
  return ws;
}

// The next message, as text or as a Buffer when it was sent binary.
export async function nextMessage(ws: WebSocket, timeout = 5000): Promise<string | Buffer> {
  const [data, isBinary] = (await once(ws, 'message', {
    signal: AbortSignal.timeout(timeout),
  })) as [Buffer, boolean];
  return isBinary ? data : data.toString('utf8');
}

export async function closeWebSocket(ws: WebSocket, timeout = 5000): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  const closed = once(ws, 'close', { signal: AbortSignal.timeout(timeout) });
  ws.close();
  await closed;
}
