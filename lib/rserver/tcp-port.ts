import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

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

// The owner of the socket listening on 127.0.0.1:`port`, from /proc/net/tcp (rows: sl,
// local address, remote address, state, queues, timers, retransmits, uid…); undefined when
// nothing listens there.
export function parseListenerUid(table: string, port: number): number | undefined {
  const local = `${LOOPBACK_HEX}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local && fields[3] === LISTEN_STATE) return Number(fields[7]);
  }
  return undefined;
}

// Who listens on 127.0.0.1:`port` of this network namespace: an rserver that answers there must be
// the user's own, not a process of another user's that took the port first.
export async function listenerUid(port: number): Promise<number | undefined> {
  return parseListenerUid(await readFile('/proc/net/tcp', 'utf8'), port);
}
