import type { IncomingMessage, ServerResponse } from 'node:http';

// A browser asking for a page (Accept names text/html), as opposed to a script or a probe.
export function wantsHtml(req: IncomingMessage): boolean {
  return /text\/html/.test(req.headers.accept ?? '');
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// A short answer in the format the client asked for: a page for browsers, JSON otherwise. A
// refusal closes the connection: a client that was refused has no business keeping it.
export function sendMessage(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const html = wantsHtml(req);
  const body = html
    ? `<!doctype html><meta charset="utf-8"><title>${escapeHtml(title)}</title><h1>${escapeHtml(title)}</h1><p>${escapeHtml(detail)}</p>\n`
    : `${JSON.stringify({ error: title, detail })}\n`;
  res.writeHead(status, {
    'Content-Type': html ? 'text/html; charset=utf-8' : 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...(status >= 400 && { Connection: 'close' }),
    ...headers,
  });
  res.end(body);
}

// Refuses an upgrade on the raw socket: there is no response object before the handshake.
export function refuseUpgrade(
  socket: NodeJS.WritableStream & { destroy(): void },
  status: number,
  reason: string,
): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  setTimeout(() => socket.destroy(), 1000).unref();
}

export function sendRedirect(res: ServerResponse, location: string, cookie?: string): void {
  res.writeHead(302, {
    Location: location,
    'Cache-Control': 'no-store',
    'Content-Length': 0,
    ...(cookie && { 'Set-Cookie': cookie }),
  });
  res.end();
}

export function sendText(res: ServerResponse, text: string): void {
  res.writeHead(200, {
    'Content-Type': 'text/plain',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

export function sendJson(res: ServerResponse, value: unknown): void {
  const body = `${JSON.stringify(value)}\n`;
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}
