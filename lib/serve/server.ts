import { rmdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname } from 'node:path';
import type { InstanceLayout } from '../instance/layout.js';
import { createProxyAdapter, type ProxyAdapter } from '../proxy/adapter.js';
import { Supervisor } from '../rserver/supervisor.js';
import { findUsableRServer } from '../rserver/usable.js';
import { createTokenAuth } from './auth.js';
import { handleClientError } from './client-error.js';
import { guardConnections } from './connection-guard.js';
import { createFrontCookie } from './cookie.js';
import { createHostGuard } from './host-guard.js';
import { listen, prepareUnixListener, type ListenSpec } from './listen.js';
import {
  normalizeServeOptions,
  type NormalizedServeOptions,
  type ServeOptions,
  type TokenSource,
} from './options.js';
import { createFrontRouter } from './router.js';
import type { ServedBackend } from './served-backend.js';
import { describeStatus, startStatusTicker } from './status-ticker.js';
import { readTokenFile } from './token-file.js';

export type { ServeOptions } from './options.js';
export { CONTROL_PATH } from './router.js';

export interface ServeHandle {
  /** Where it listens (the real port when 0 was asked for). */
  readonly listener: ListenSpec;
  readonly token: string | undefined;
  readonly prefix: string;
  /** The URL to open: through the ssh tunnel's end for a Unix listener, with `?token=`. */
  readonly url: string;
  /** What runs rserver: the supervisor, or the backend the `backend` option made. */
  readonly backend: ServedBackend;
  /** The supervisor, when serve made one (without the `backend` option). */
  readonly supervisor: Supervisor | undefined;
  /** The instance serve holds: its name, its directory, where its runtime base came from. */
  readonly layout: InstanceLayout;
  readonly adapter: ProxyAdapter;
  /** Stops accepting, ends every connection, stops rserver and releases the instance. */
  close(): Promise<void>;
}

// The standalone front: a node:http server in front of the adapter and the supervisor, with the
// host guard (DNS rebinding), token auth, a health and a status endpoint, and idle shutdown.
// What would make the first request fail for sure (no usable rserver, an unreadable token file,
// an instance in use) fails here instead, before anything listens.
export function serve(options: ServeOptions = {}): Promise<ServeHandle> {
  return startFront(normalizeServeOptions(options));
}

// serve() and serveExec() alike: what differs between them is in the normalized options.
export async function startFront(config: NormalizedServeOptions): Promise<ServeHandle> {
  const { prefix, logger } = config;
  const warn = (message: string) => logger?.({ level: 'warn', source: 'rsession-proxy', message });
  // Every option is checked (the supervisor's too: a mistake in the launcher's options is a
  // usage error, reported before any failure to start) before anything is written, and a
  // socket someone else chose before the instance is opened: a refusal leaves no directory
  // behind.
  const { backend, supervisor } = makeBackend(config);
  const token = await readToken(config.token);
  // rserver runs on this host: check it now, and the isolation it would get (said plainly when
  // it is weaker than a socket of its own). Another backend (a Slurm job) checks its own;
  // serveExec does not check (config.checkRServer), it tells every request why instead.
  if (supervisor && config.checkRServer) {
    const probe = await findUsableRServer(config.supervisor);
    logger?.({
      level: 'info',
      source: 'rsession-proxy',
      message: `rserver ${probe.version ?? '(version unknown)'}: ${probe.path}`,
    });
    const isolation = await supervisor.getIsolation();
    logger?.({
      level: 'info',
      source: 'rsession-proxy',
      message: `isolation ${isolation.description}`,
    });
    for (const warning of isolation.warnings) warn(warning);
  }
  const listenPath = config.listen && 'path' in config.listen ? config.listen.path : undefined;
  const created = listenPath !== undefined && (await prepareUnixListener(listenPath));
  let layout: InstanceLayout;
  try {
    layout = await backend.open();
  } catch (error) {
    if (created) await rmdir(dirname(listenPath)).catch(() => undefined);
    throw error;
  }
  const adapter = createProxyAdapter({
    backend,
    prefix,
    trustProxy: config.trustProxy,
    onError: (error) => warn(error.message),
  });
  // No limit on a whole request (uploads, long polls), but one on its headers: without it a
  // crowd of silent connections is never let go (requestTimeout: 0 alone turns both off).
  const server = createServer({
    requestTimeout: 0,
    headersTimeout: config.headersTimeout,
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, config.headersTimeout / 4)),
  });
  const guard = guardConnections(server, config);
  server.on('clientError', handleClientError);

  let listener: ListenSpec;
  try {
    listener = await listen(server, config.listen ?? { path: layout.listenerSocketPath });
  } catch (error) {
    guard.close();
    await backend.close();
    throw error;
  }
  // The cookie names the listener, so it is made once the real port is known.
  const auth = token
    ? createTokenAuth(token, createFrontCookie(layout.name, listener, prefix))
    : undefined;
  const router = createFrontRouter({
    prefix,
    strippedPrefix: config.strippedPrefix,
    probePath: config.probePath,
    auth,
    isAllowedHost: config.hostCheck ? createHostGuard(config.allowHosts) : () => true,
    trustProxy: config.trustProxy,
    adapter,
    guard,
    getStatus: () => describeStatus(backend, adapter),
    logger,
  });
  server.on('request', router.onRequest);
  server.on('upgrade', router.onUpgrade);
  server.on('connect', router.onConnect);

  const ticker = await startStatusTicker({
    kind: config.kind,
    backend,
    adapter,
    layout,
    listener,
    prefix: config.strippedPrefix ?? prefix,
    idleTimeout: config.idleTimeout,
    logger,
  });
  // rserver died, or a tmp cleaner took its socket or directory: the next request starts a new
  // one, and without this line nobody would learn why the old one went.
  backend.on('crash', (error: Error) => warn(error.message));

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      guard.close();
      ticker.stop();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await adapter.close();
      server.closeAllConnections();
      await stopped;
      await backend.close();
    })());

  const host = 'path' in listener ? 'localhost:8787' : formatHostForUrl(listener);
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  return {
    listener,
    token,
    prefix,
    url: `http://${host}${prefix}${query}`,
    backend,
    supervisor,
    layout,
    adapter,
    close,
  };
}

// The token a source names: the one given (or made up), the one in the file, or none.
async function readToken(source: TokenSource): Promise<string | undefined> {
  if (source.from === 'none') return undefined;
  return source.from === 'value' ? source.token : readTokenFile(source.path);
}

// The backend the `backend` option makes, or a supervisor of rserver on this host.
function makeBackend(config: NormalizedServeOptions): {
  backend: ServedBackend;
  supervisor: Supervisor | undefined;
} {
  if (config.backend) return { backend: config.backend(config.supervisor), supervisor: undefined };
  const supervisor = new Supervisor(config.supervisor);
  return { backend: supervisor, supervisor };
}

function formatHostForUrl(listener: { host: string; port: number }): string {
  const host = ['0.0.0.0', '::', ''].includes(listener.host) ? 'localhost' : listener.host;
  return `${host.includes(':') ? `[${host}]` : host}:${listener.port}`;
}
