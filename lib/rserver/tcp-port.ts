import { readFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import type { Logger } from '../logger.js';

// A port of 127.0.0.1 that nothing listens on now, for an rserver without a network namespace
// of its own (isolation `password`). Another process may take it before rserver binds it: rserver
// then fails with "Address already in use", and listenerUid() catches anything subtler.
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port was given'))));
    });
  });
}

/** 127.0.0.1 as /proc/net/tcp writes it (the address's bytes in host order: little-endian). */
const LOOPBACK_HEX = '0100007F';
const LISTEN_STATE = '0A';

const loopback = (port: number) =>
  `${LOOPBACK_HEX}:${port.toString(16).toUpperCase().padStart(4, '0')}`;

// The uid of the first row of /proc/net/tcp (rows: sl, local address, remote address, state,
// queues, timers, retransmits, uid…) that `matches`.
function findUid(table: string, matches: (fields: string[]) => boolean): number | undefined {
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (matches(fields)) return Number(fields[7]);
  }
  return undefined;
}

// The owner of the socket listening on 127.0.0.1:`port`; undefined when nothing listens there.
export function parseListenerUid(table: string, port: number): number | undefined {
  const local = loopback(port);
  return findUid(table, (fields) => fields[1] === local && fields[3] === LISTEN_STATE);
}

// The owner of the far end of a connection from 127.0.0.1:`localPort` to 127.0.0.1:`port`. The
// kernel gives a connection that a listener accepts (or still queues) the listener's owner, so
// this is who took the port, whenever they took it; undefined when no such connection is open.
export function parsePeerUid(table: string, port: number, localPort: number): number | undefined {
  const [far, near] = [loopback(port), loopback(localPort)];
  return findUid(table, (fields) => fields[1] === far && fields[2] === near);
}

// Who listens on 127.0.0.1:`port` of this network namespace: an rserver that answers there must be
// the user's own, not a process of another user's that took the port first.
export async function listenerUid(port: number): Promise<number | undefined> {
  return parseListenerUid(await readFile('/proc/net/tcp', 'utf8'), port);
}

// Who accepted this connected socket to 127.0.0.1: each connection to a port of the host is
// checked, because the port may change hands whenever rserver is gone (a crash) and another
// user binds it before the supervisor has noticed.
export async function peerUid(socket: Socket): Promise<number | undefined> {
  const { remotePort, localPort } = socket;
  if (remotePort === undefined || localPort === undefined) return undefined;
  return parsePeerUid(await readFile('/proc/net/tcp', 'utf8'), remotePort, localPort);
}

// The relay's check for a port of the host (isolation `password`): a connection goes on only when
// the user's own process accepted it. One that reached another user's listener is closed before
// a byte of the browser's (its cookies, its code for R) is sent, and said as an error.
export function createPeerCheck(port: number, uid: number, log: Logger | undefined) {
  return async (upstream: Socket): Promise<boolean> => {
    const owner = await peerUid(upstream);
    if (owner === uid) return true;
    log?.({
      level: 'error',
      source: 'rsession-proxy',
      message: `A connection to 127.0.0.1:${port}, rserver's port, was accepted by something that is not yours (uid ${owner ?? 'unknown'}); it was closed before anything was sent. Another user may have taken the port after rserver ended.`,
    });
    return false;
  };
}
