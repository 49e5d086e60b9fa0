import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Backend } from '../backend.js';
import { createCore } from './core.js';
import { normalizeAdapterOptions, type ProxyAdapterOptions } from './options.js';
import { normalizePrefix } from '../url-prefix.js';
import { handleUpgrade } from './upgrade.js';
import { handleRequest } from './web.js';

export interface AttachOptions {
  /** Overrides the adapter's prefix for this server. */
  prefix?: string | undefined;
}

export interface ProxyAdapter {
  /** Handles one HTTP request: `http.createServer(adapter.web)`. */
  readonly web: (req: IncomingMessage, res: ServerResponse) => void;
  /** Handles one upgrade: `server.on('upgrade', adapter.upgrade)`. */
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Connect/Express middleware; requests outside the prefix go to `next()`. */
  readonly middleware: (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
  /** Serves requests and upgrades of a bare node:http(s) server; returns a function that detaches. */
  attach(server: HttpServer | HttpsServer, options?: AttachOptions): () => void;
  /**
   * Ends every open request and WebSocket and closes the connection pool. Handlers stay usable
   * and answer 503, so a server that still accepts connections never leaves a client hanging.
   */
  close(): Promise<void>;
  /**
   * Date.now() of the last request, or of bytes moving on one (an upload, a download, WebSocket
   * frames), for idle shutdown. Moving bytes are noticed when this is read: the value is then
   * no earlier than the last of them.
   */
  readonly lastActivity: number;
  readonly backend: Backend;
}

// The adapter other Node servers embed: it takes requests they have accepted (and
// authenticated) and carries them to rserver's private socket.
export function createProxyAdapter(options: ProxyAdapterOptions): ProxyAdapter {
  const core = createCore(normalizeAdapterOptions(options));

  return {
    web: (req, res) => handleRequest(core, req, res),
    upgrade: (req, socket, head) => handleUpgrade(core, req, socket, head),
    middleware: (req, res, next) => handleRequest(core, req, res, undefined, next),
    attach(server, attachOptions = {}) {
      const prefix =
        attachOptions.prefix === undefined ? undefined : normalizePrefix(attachOptions.prefix);
      const onRequest = (req: IncomingMessage, res: ServerResponse) =>
        handleRequest(core, req, res, prefix);
      const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) =>
        handleUpgrade(core, req, socket, head, prefix);
      server.on('request', onRequest);
      server.on('upgrade', onUpgrade);
      return () => {
        server.off('request', onRequest);
        server.off('upgrade', onUpgrade);
      };
    },
    close: () => core.close(),
    get lastActivity() {
      return core.lastActivity;
    },
    backend: core.options.backend,
  };
}
