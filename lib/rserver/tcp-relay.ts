import { chmod, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { isErrnoException } from '../errno.js';

export interface TcpRelay {
  /** Stops accepting and ends every relayed connection. */
  close(): Promise<void>;
}

/**
 * Decides, once a connection to the port is open, whether it reached the right listener; nothing
 * of the client's is sent before it says yes. Without it every connection is trusted (inside
 * rserver's own network namespace nobody else can listen).
 */
export type PeerCheck = (upstream: Socket) => Promise<boolean>;

// Ties one accepted connection to a new one to the port: bytes both ways as they come (with
// backpressure), half-closes passed on (an HTTP client may end its side and wait for the
// answer), and when either connection fails or has closed the other goes too.
function relayConnection(
  client: Socket,
  port: number,
  host: string,
  checkPeer: PeerCheck | undefined,
): Socket {
  const upstream = connect({ port, host, allowHalfOpen: true });
  const destroyBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', destroyBoth);
  upstream.on('error', destroyBoth);
  client.once('close', () => upstream.destroy());
  upstream.once('close', () => client.destroy());
  upstream.setNoDelay(true);
  const pipeBoth = () => {
    client.pipe(upstream);
    upstream.pipe(client);
  };
  if (checkPeer === undefined) {
    pipeBoth();
    return upstream;
  }
  client.pause();
  upstream.once('connect', () => {
    checkPeer(upstream).then((trusted) => (trusted ? pipeBoth() : destroyBoth()), destroyBoth);
  });
  return upstream;
}

// Exposes a TCP port as a Unix socket: rserver, which before 2024.12 listens only on TCP, is
// reached through a socket in the instance's private directory, like a newer one's
// --www-socket. Inside rserver's network namespace (relay-main.ts) the port is in no other
// user's reach at all; run in the supervisor (isolation `password`) it keeps the adapter on a
// socket path either way. Connections that find nothing on the port yet are closed at once, which
// the readiness check takes for "not ready".
export async function startTcpRelay(
  socketPath: string,
  port: number,
  { host = '127.0.0.1', checkPeer }: { host?: string; checkPeer?: PeerCheck } = {},
): Promise<TcpRelay> {
  const open = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = relayConnection(client, port, host, checkPeer);
    open.add(client).add(upstream);
    client.once('close', () => open.delete(client));
    upstream.once('close', () => open.delete(upstream));
  });
  try {
    await unlink(socketPath);
  } catch (error) {
    if (!isErrnoException(error, 'ENOENT')) throw error;
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // The directory is what keeps others out; the socket's own mode says the same.
  await chmod(socketPath, 0o600);
  // A failure to accept one connection (EMFILE) must not end the relay.
  server.on('error', () => undefined);
  let closing: Promise<void> | undefined;
  return {
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      })),
  };
}
