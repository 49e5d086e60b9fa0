// The node side of a backend connection through Slurm: inside a job step, `rsession-proxy relay`
// carries bytes between its stdio (which srun connects to the login node) and rserver's Unix
// socket on the compute node. The login side (step-connection.ts) sees srun's stdout end
// exactly when this relay's socket has closed and its output has drained.
import { connect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { RSessionProxyError } from '../errors.js';
import { assertSocketPathLength } from '../instance/socket-path.js';
import { assertPrivateDir } from '../private-dir.js';
import { relayLanes, type LaneOptions } from './relay-lanes.js';

export interface RelayStdio {
  /** What arrives from the login side (the step's stdin). */
  input: NodeJS.ReadableStream;
  /** What goes back to the login side (the step's stdout). */
  output: NodeJS.WritableStream;
}

/** The file lane (relay-lanes.ts): given, the step speaks the framed protocol. */
export type RelaySpillOptions = Omit<LaneOptions, 'log' | 'describeSocketError'> & {
  log?: LaneOptions['log'];
};

// One line that says what is wrong with the socket, where: the message travels through srun's
// stderr to the login node, so it names this host.
export function describeConnectFailure(socketPath: string, error: NodeJS.ErrnoException): string {
  const where = `${socketPath} on ${hostname()}`;
  switch (error.code) {
    case 'ENOENT':
      return `relay: no socket at ${where} (is RStudio running in this job?)`;
    case 'ECONNREFUSED':
      return `relay: nothing listens on ${where} (the process that made the socket has ended, or it is not a socket)`;
    case 'EACCES':
    case 'EPERM':
      return `relay: permission denied connecting to ${where} (the socket or a directory above it is not yours)`;
    case 'ENOTDIR':
      return `relay: ${where} is not a socket path (a part of it is not a directory)`;
    default:
      return `relay: cannot connect to ${where}: ${error.message}`;
  }
}

// Resolves with the connected socket, or fails with EBACKEND saying why it could not connect.
async function connectSocket(socketPath: string): Promise<Socket> {
  assertSocketPathLength(socketPath);
  const socket = connect({ path: socketPath });
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new RSessionProxyError('EBACKEND', describeConnectFailure(socketPath, error), {
          path: socketPath,
          cause: error,
        }),
      );
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

// A failure of the socket to rserver as one line that names it, and this host.
function describeRelayError(socketPath: string, error: NodeJS.ErrnoException): Error {
  return new RSessionProxyError(
    'EBACKEND',
    `relay: the connection to ${socketPath} on ${hostname()} failed: ${error.message}`,
    { path: socketPath, cause: error },
  );
}

// How the kernel tells a Unix socket's peer that the other end has closed while it is still
// being written to: EOF, ECONNRESET (the closer left bytes unread) or EPIPE (a write after its
// close), whichever comes first. Which one depends on timing alone, so they mean the same here.
const PEER_CLOSED = new Set(['ECONNRESET', 'EPIPE']);

// Relays `input` to the socket and the socket to `output`. The end of `input` half-closes the
// socket (an HTTP server still answers what it was sent); the relay ends when the socket has
// closed and all it sent has been written out, because a relay that stops at the socket's close
// drops the tail of a download still buffered on its way to `output`. The server closing the
// connection, even in the middle of a request, is the connection's end, not a failure: what it
// sent is relayed (all of it after a clean close; an abort, like a reset, may lose it), the rest
// of `input` is dropped, and the login side's HTTP framing tells a cut-off answer from a whole.
// With `spill`, the step speaks the framed protocol of relay-frames.ts and bulk bytes may go
// through chunk files in `spill.spillDir`, which must be private (refused, saying why, when it
// is not: the bytes of a download are the user's).
export async function relayUnixSocket(
  socketPath: string,
  stdio: RelayStdio,
  spill?: RelaySpillOptions,
): Promise<void> {
  if (spill) await assertPrivateDir(spill.spillDir);
  const socket = await connectSocket(socketPath);
  if (spill) {
    return relayLanes(socket, stdio, {
      ...spill,
      log: spill.log ?? (() => undefined),
      describeSocketError: (error) => describeRelayError(socketPath, error),
    });
  }
  const { input, output } = stdio;
  return new Promise((resolve, reject) => {
    let failure: Error | undefined;
    // Nothing more can go to a server that has closed its end.
    socket.once('end', () => input.unpipe(socket));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== undefined && PEER_CLOSED.has(error.code)) return;
      failure ??= describeRelayError(socketPath, error);
    });
    // The login side went away (srun ended): nobody is left to relay to.
    output.on('error', (error: Error) => {
      failure ??= error;
      socket.destroy();
    });
    input.on('error', () => socket.end());
    socket.pipe(output, { end: false });
    input.pipe(socket);
    socket.once('close', () => {
      input.unpipe(socket);
      input.pause();
      output.end(() => (failure ? reject(failure) : resolve()));
    });
  });
}
