import { isRSessionProxyError } from '../errors.js';
import type { ProxyAdapter } from '../proxy/adapter.js';
import type { ServedBackend } from '../serve/served-backend.js';
import { startFront } from '../serve/server.js';
import { normalizeExecOptions, type ExecOptions } from './options.js';

export interface ExecHandle {
  /** The socket it listens on (the one it was given, resolved). */
  readonly socketPath: string;
  /** rserver's root path, with a leading and a trailing slash. */
  readonly rootPath: string;
  /** The supervisor of rserver. */
  readonly backend: ServedBackend;
  readonly adapter: ProxyAdapter;
  /** Stops accepting, ends every connection, stops rserver and removes the instance. */
  close(): Promise<void>;
}

// What `rsession-proxy exec` runs under jupyter-server-proxy, which restarts its command only
// when it exits non-zero and never waits for it to be ready again: exec itself listens on the
// given socket, the adapter in front of a supervisor whose rserver listens in the instance's
// private directory, so that no request is ever refused while rserver restarts (it waits, or
// gets the starting page or a 503 with the reason). rserver starts at once, and again after
// every crash (with the supervisor's backoff); a start that fails is logged, answered to every
// request with its reason, and tried again by the next page load: nothing here ever exits.
export async function serveExec(options: ExecOptions): Promise<ExecHandle> {
  const { front: config, socketPath } = normalizeExecOptions(options);
  const { logger } = config;
  const front = await startFront(config);
  const { backend } = front;
  let closed = false;
  const start = () => {
    backend.ensureRunning().catch((error: unknown) => {
      if (closed || isRSessionProxyError(error, 'ECLOSED')) return;
      logger?.({
        level: 'error',
        source: 'rsession-proxy',
        message: `rserver did not start (requests are told why; the next page load tries again): ${error instanceof Error ? error.message : String(error)}`,
      });
    });
  };
  backend.on('crash', start);
  start();
  return {
    socketPath,
    rootPath: config.strippedPrefix ?? '/',
    backend,
    adapter: front.adapter,
    close: async () => {
      closed = true;
      backend.off('crash', start);
      await front.close();
    },
  };
}
