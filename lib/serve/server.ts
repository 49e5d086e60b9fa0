import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { RSessionProxyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createProxyAdapter, type ProxyAdapter } from '../proxy/adapter.js';
import { normalizePrefix } from '../proxy/prefix.js';
import { Supervisor, type SupervisorOptions } from '../rserver/supervisor.js';
import { writeStatusRecord } from '../instance/status.js';
import { authenticate, sendRedirect, type TokenAuth } from './auth.js';
import { createHostGuard } from './host-guard.js';
import { formatListenSpec, listen, type ListenSpec } from './listen.js';
import { refuseUpgrade, sendMessage } from './pages.js';
import { generateToken, validateToken } from './token.js';

export interface ServeOptions extends Omit<SupervisorOptions, 'rootPath' | 'socketPath'> {
  /** Default: `{ path: '<instance dir>/proxy.sock' }`, a private Unix socket. */
  listen?: ListenSpec | undefined;
  /** Where RStudio appears, e.g. `/rstudio/`; default `/`. */
  prefix?: string | undefined;
  /** The access token; generated when undefined; `false` for none (Unix listener only). */
  token?: string | false | undefined;
  /** Host names accepted besides localhost, 127.0.0.1 and [::1]. */
  allowHosts?: readonly string[] | undefined;
  /** Stop rserver after this many ms without traffic (it starts again on the next request). */
  idleTimeout?: number | undefined;
  logger?: Logger | undefined;
}

export interface ServeHandle {
  /** Where it listens (the real port when 0 was asked for). */
  readonly listener: ListenSpec;
  readonly token: string | undefined;
  readonly prefix: string;
  /** The URL to open: through the ssh tunnel's end for a Unix listener, with `?token=`. */
  readonly url: string;
  readonly supervisor: Supervisor;
  readonly adapter: ProxyAdapter;
  /** Stops accepting, ends every connection, stops rserver and releases the instance. */
  close(): Promise<void>;
}

export const CONTROL_PATH = '_rsession-proxy/';

// The standalone front: a node:http server in front of the adapter and the supervisor, with the
// host guard (DNS rebinding), token auth, a health and a status endpoint, and idle shutdown.
export async function serve(options: ServeOptions = {}): Promise<ServeHandle> {
  const prefix = normalizePrefix(options.prefix ?? '/').replace(/\/?$/, '/');
  const supervisor = new Supervisor({ ...options, rootPath: prefix });
  const layout = await supervisor.open();
  const requested = options.listen ?? { path: layout.listenerSocketPath };
  const token = resolveToken(options.token, requested);
  const auth: TokenAuth | undefined = token
    ? { token, cookieName: `rsession-proxy-${layout.name}`, cookiePath: prefix }
    : undefined;
  const isAllowedHost = createHostGuard(options.allowHosts);
  const adapter = createProxyAdapter({
    backend: supervisor,
    prefix,
    onError: (error) =>
      options.logger?.({ level: 'warn', source: 'rsession-proxy', message: error.message }),
  });
  const startedAt = new Date();

  const controlPath = `${prefix}${CONTROL_PATH}`;
  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    const path = getPath(req);
    if (path === undefined)
      return sendMessage(req, res, 400, 'Bad request', 'The request target must be a path.');
    if (!isAllowedHost(req.headers.host)) {
      return sendMessage(
        req,
        res,
        403,
        'Host not allowed',
        'Use http://localhost (or a host given with --allow-host).',
      );
    }
    if (path === `${controlPath}health`) return sendText(res, 'ok\n');
    if (auth) {
      const decision = authenticate(req, auth, req.method === 'GET' || req.method === 'HEAD');
      if (decision.kind === 'redirect')
        return sendRedirect(res, decision.location, decision.cookie);
      if (decision.kind === 'deny') return denyRequest(req, res, decision.status);
      dropCredential(req);
    }
    if (path === `${controlPath}status`) return sendJson(res, getStatus());
    if (path === '/' && prefix !== '/') return sendRedirect(res, prefix);
    adapter.web(req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (getPath(req) === undefined) return refuseUpgrade(socket, 400, 'Bad Request');
    if (!isAllowedHost(req.headers.host)) return refuseUpgrade(socket, 403, 'Forbidden');
    if (auth) {
      const decision = authenticate(req, auth, false);
      if (decision.kind !== 'allow')
        return refuseUpgrade(
          socket,
          decision.kind === 'deny' ? decision.status : 401,
          'Unauthorized',
        );
      dropCredential(req);
    }
    adapter.upgrade(req, socket, head);
  });

  let listener: ListenSpec;
  try {
    listener = await listen(server, requested);
  } catch (error) {
    await supervisor.close();
    throw error;
  }

  function getStatus() {
    const status = supervisor.status;
    return {
      state: status.state,
      pid: status.pid ?? null,
      uptime: status.readySince
        ? Math.round((Date.now() - status.readySince.getTime()) / 1000)
        : null,
      lastActivity: adapter.lastActivity ? new Date(adapter.lastActivity).toISOString() : null,
      restarts: status.restarts,
      lastError: status.lastError ?? null,
    };
  }

  let closing: Promise<void> | undefined;
  const writeStatus = async () => {
    if (closing) return;
    await writeStatusRecord(layout.statusFile, {
      kind: 'serve',
      instance: layout.name,
      pid: process.pid,
      socket: layout.socketPath,
      listener: formatListenSpec(listener),
      prefix,
      startedAt: startedAt.toISOString(),
      state: supervisor.state,
      rserverPid: supervisor.status.pid,
      readySince: supervisor.status.readySince?.toISOString(),
      lastActivity: adapter.lastActivity ? new Date(adapter.lastActivity).toISOString() : undefined,
      restarts: supervisor.status.restarts,
    }).catch(() => undefined);
  };
  await writeStatus();
  supervisor.on('state', () => void writeStatus());
  // rserver died, or a tmp cleaner took its socket or directory: the next request starts a new
  // one, and without this line nobody would learn why the old one went.
  supervisor.on('crash', (error: Error) =>
    options.logger?.({ level: 'warn', source: 'rsession-proxy', message: error.message }),
  );
  const idleTimeout = options.idleTimeout ?? 0;
  const ticker = setInterval(
    () => {
      void writeStatus();
      if (
        idleTimeout > 0 &&
        supervisor.state === 'running' &&
        Date.now() - adapter.lastActivity > idleTimeout
      ) {
        options.logger?.({
          level: 'info',
          source: 'rsession-proxy',
          message: `no traffic for ${Math.round(idleTimeout / 60_000)} min: stopping rserver until the next request`,
        });
        void supervisor.stop();
      }
    },
    Math.min(15_000, Math.max(250, idleTimeout / 4 || 15_000)),
  );
  ticker.unref();

  const close = () =>
    (closing ??= (async () => {
      clearInterval(ticker);
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await adapter.close();
      server.closeAllConnections();
      await stopped;
      await supervisor.close();
    })());

  const host = 'path' in listener ? 'localhost:8787' : formatHostForUrl(listener);
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  return {
    listener,
    token,
    prefix,
    url: `http://${host}${prefix}${query}`,
    supervisor,
    adapter,
    close,
  };
}

function resolveToken(token: string | false | undefined, listener: ListenSpec): string | undefined {
  if (token === false) {
    if (!('path' in listener)) {
      throw new RSessionProxyError(
        'EINVALIDOPTION',
        'A TCP listener always needs a token: every user on the host can connect to a port.',
        { hint: 'Drop --no-token, or listen on a Unix socket (--listen=unix:/path).' },
      );
    }
    return undefined;
  }
  return token === undefined ? generateToken() : validateToken(token, 'the token option');
}

function formatHostForUrl(listener: { host: string; port: number }): string {
  const host = ['0.0.0.0', '::', ''].includes(listener.host) ? 'localhost' : listener.host;
  return `${host.includes(':') ? `[${host}]` : host}:${listener.port}`;
}

// The path of an origin-form request target; undefined for absolute-form (`GET http://x/`),
// authority-form or asterisk-form targets, which a server of paths never follows.
function getPath(req: IncomingMessage): string | undefined {
  const target = req.url ?? '';
  if (!target.startsWith('/') || target.startsWith('//')) return undefined;
  return target.split('?')[0];
}

// The token is serve's, not rserver's: it is not passed on. Set to undefined rather than deleted
// (which the adapter skips just the same): deleting a property of the headers object turns it
// into a slow dictionary for V8, and took serve's CPU per request from the adapter's to 1.5x it
// (npm run bench, --cpu-prof).
function dropCredential(req: IncomingMessage): void {
  if (req.headers.authorization !== undefined) req.headers.authorization = undefined;
}

function denyRequest(req: IncomingMessage, res: ServerResponse, status: 401 | 403): void {
  sendMessage(
    req,
    res,
    status,
    status === 401 ? 'Token required' : 'Wrong token',
    'Open the URL that `rsession-proxy serve` printed (it ends in ?token=…), or send `Authorization: token <token>`.',
  );
}

function sendText(res: ServerResponse, text: string): void {
  res.writeHead(200, {
    'Content-Type': 'text/plain',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

function sendJson(res: ServerResponse, value: unknown): void {
  const body = `${JSON.stringify(value)}\n`;
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}
