import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createProxyAdapter,
  type ProxyAdapter,
  type ProxyAdapterOptions,
} from '../../lib/index.js';

export interface Front {
  server: Server;
  adapter: ProxyAdapter;
  /** http://127.0.0.1:<port> */
  origin: string;
  port: number;
}

// A bare node:http server on 127.0.0.1, port 0, with the adapter attached: the embedding
// server of most tests. Close it with closeFront.
export async function startFront(
  options: ProxyAdapterOptions,
  attachPrefix?: string,
): Promise<Front> {
  const adapter = createProxyAdapter(options);
  const server = createServer();
  adapter.attach(server, attachPrefix === undefined ? {} : { prefix: attachPrefix });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, adapter, origin: `http://127.0.0.1:${port}`, port };
}

export async function closeFront(front: Front): Promise<void> {
  await front.adapter.close();
  front.server.closeAllConnections();
  if (front.server.listening) await new Promise((resolve) => front.server.close(resolve));
}
