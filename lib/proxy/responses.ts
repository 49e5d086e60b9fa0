import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { lingerAfterEnd } from './linger.js';

export type BodyFormat = 'html' | 'json';

/** A response the adapter makes itself: status, headers and a small body. */
export interface Rendered {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);
const JSON_TYPES = new Set(['application/json', 'text/json']);

// HTML for whoever prefers it (a browser navigating), JSON for everything else (XHR, fetch,
// curl, probes): what the client will show or parse.
export function chooseFormat(accept: string | undefined): BodyFormat {
  let html = -1;
  let json = -1;
  for (const range of (accept ?? '').split(',')) {
    const [type = '', ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    const qParam = params.find((param) => param.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!(q > 0)) continue;
    if (HTML_TYPES.has(type)) html = Math.max(html, q);
    else if (JSON_TYPES.has(type)) json = Math.max(json, q);
  }
  return html > json ? 'html' : 'json';
}

// A browser loading a page, as opposed to a script fetching data.
export function isPageLoad(method: string | undefined, accept: string | undefined): boolean {
  return (method === 'GET' || method === 'HEAD') && chooseFormat(accept) === 'html';
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function htmlPage(title: string, paragraphs: string[], head = ''): string {
  const body = paragraphs.map((text) => `<p>${escapeHtml(text)}</p>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">${head}
<title>${escapeHtml(title)}</title>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}

/** Why the adapter answers a request itself: an error code from docs/errors.md when there is one. */
export interface Refusal {
  code?: string | undefined;
  message: string;
}

const NO_STORE = { 'cache-control': 'no-store' };

// An error the adapter answers itself (502, 503, 403, ...), in the format the client asked for.
export function renderError(status: number, error: Refusal, format: BodyFormat): Rendered {
  const reason = STATUS_CODES[status] ?? 'Error';
  if (format === 'json') {
    const body = `${JSON.stringify({ error: { status, code: error.code, message: error.message } })}\n`;
    return { status, headers: { ...NO_STORE, 'content-type': 'application/json' }, body };
  }
  const body = htmlPage(`${status} ${reason}`, error.message.split('\n'));
  return { status, headers: { ...NO_STORE, 'content-type': 'text/html; charset=utf-8' }, body };
}

// Shown to a browser while rserver starts; it reloads itself, and the reload is answered by
// RStudio once it is ready. `progress` is the backend's word on what the start waits for.
export function renderStartingPage(refreshSeconds: number, progress?: string): Rendered {
  const body = htmlPage(
    'Starting RStudio…',
    [
      ...(progress ?? '').split('\n').filter((line) => line !== ''),
      'RStudio is starting. This page reloads itself until it is ready.',
    ],
    `\n<meta http-equiv="refresh" content="${refreshSeconds}">`,
  );
  return {
    status: 503,
    headers: {
      ...NO_STORE,
      'content-type': 'text/html; charset=utf-8',
      'retry-after': String(refreshSeconds),
    },
    body,
  };
}

export function renderRedirect(status: number, location: string): Rendered {
  return {
    status,
    headers: { location, 'content-type': 'text/plain; charset=utf-8' },
    body: `${STATUS_CODES[status] ?? 'Redirect'}: ${location}\n`,
  };
}

/** Where the adapter answers a client itself: its response, or an upgrade's raw socket. */
export type ClientSide = { res: ServerResponse } | { socket: Duplex };

// Answers a request or an upgrade with a response the adapter made, unless an answer has begun.
export function answerClient(req: IncomingMessage, client: ClientSide, rendered: Rendered): void {
  if ('res' in client) {
    const { res } = client;
    if (!res.headersSent && !res.destroyed) sendRendered(res, rendered, req.method);
  } else {
    sendRenderedRaw(client.socket, rendered);
  }
}

// Refuses a request or an upgrade with an error in the format the client asked for.
export function refuseClient(
  req: IncomingMessage,
  client: ClientSide,
  status: number,
  refusal: Refusal,
): void {
  answerClient(req, client, renderError(status, refusal, chooseFormat(req.headers.accept)));
}

// Answers on a response nobody has written to yet; HEAD gets the headers only.
function sendRendered(res: ServerResponse, rendered: Rendered, method?: string): void {
  res.writeHead(rendered.status, {
    ...rendered.headers,
    'content-length': String(Buffer.byteLength(rendered.body)),
  });
  res.end(method === 'HEAD' ? undefined : rendered.body);
}

// An upgrade socket has no ServerResponse: the answer is written raw and the connection closed.
// Reading on lets the client's FIN arrive.
function sendRenderedRaw(socket: Duplex, rendered: Rendered): void {
  if (socket.destroyed || socket.writableEnded) return;
  const headers = { ...rendered.headers, connection: 'close' };
  const lines = [`HTTP/1.1 ${rendered.status} ${STATUS_CODES[rendered.status] ?? 'Error'}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  lines.push(`content-length: ${Buffer.byteLength(rendered.body)}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${rendered.body}`);
  socket.resume();
  lingerAfterEnd(socket);
}
