import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

export interface ConnectionGuardOptions {
  /** At most this many connections that have not yet carried an authenticated request. */
  maxUnauthenticated: number;
  /** Such a connection is closed after this many ms. */
  unauthenticatedTimeout: number;
}

export interface ConnectionGuard {
  /** A request on this connection authenticated: it is the owner's, and keeps its long timeouts. */
  trust(socket: Duplex): void;
  /** How many connections are waiting to prove themselves. */
  readonly unauthenticated: number;
  /** Stops the sweep and the admission. */
  close(): void;
}

// A crowd of idle connections must not take the front down (file descriptors run out) nor keep
// its owner out. Every new connection is on probation until a request on it authenticates;
// probation is short (`unauthenticatedTimeout`) and its places are few (`maxUnauthenticated`).
// When the places are taken, the oldest connection on probation is closed to admit the new one:
// the owner's new connection sends its request at once and leaves probation as soon as it is
// read, so a crowd would have to open `maxUnauthenticated` connections in that moment to push
// it out; refusing newcomers instead would let a standing crowd keep the owner out forever.
// Connections that have authenticated (the owner's pages, long polls, downloads, WebDuplexs)
// are never touched.
export function guardConnections(server: Server, options: ConnectionGuardOptions): ConnectionGuard {
  const { maxUnauthenticated, unauthenticatedTimeout } = options;
  // Insertion order is admission order: the first entry is the oldest.
  const probation = new Map<Duplex, number>();

  const onConnection = (socket: Duplex) => {
    if (probation.size >= maxUnauthenticated) {
      const oldest = probation.keys().next();
      if (oldest.done !== true) evict(oldest.value);
    }
    probation.set(socket, Date.now());
    socket.once('close', () => probation.delete(socket));
  };
  const evict = (socket: Duplex) => {
    probation.delete(socket);
    socket.destroy();
  };
  server.on('connection', onConnection);

  const sweep = setInterval(
    () => {
      const deadline = Date.now() - unauthenticatedTimeout;
      for (const [socket, admittedAt] of probation) {
        if (admittedAt > deadline) break;
        evict(socket);
      }
    },
    Math.min(5000, Math.max(50, unauthenticatedTimeout / 4)),
  );
  sweep.unref();

  return {
    trust: (socket) => probation.delete(socket),
    get unauthenticated() {
      return probation.size;
    },
    close() {
      clearInterval(sweep);
      server.off('connection', onConnection);
    },
  };
}
