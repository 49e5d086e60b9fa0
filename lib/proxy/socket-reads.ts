import { createConnection, type NetConnectOpts, type Socket } from 'node:net';

/** How much one read from rserver's socket takes at most: node:http's own size. */
const READ_BYTES = 64 * 1024;
/** Buffers of raw bodies kept for the next read once written (a few per download in flight). */
const SPARE_BUFFERS = 8;

/** Where a raw body's bytes go instead (raw-body.ts); `release` once they are written. */
export type RawSink = (chunk: Buffer, release: () => void) => void;

interface Reads {
  sink: RawSink | undefined;
}

const READS = Symbol('rsession-proxy reads');

interface Carrier {
  [READS]?: Reads;
}

// Every connection node:http reads from shares this buffer: what a read puts in it is copied
// out before the next read can (reads and their callbacks are one synchronous step).
let shared: Buffer | undefined;
const spare: Buffer[] = [];

function getShared(): Buffer {
  shared ??= Buffer.allocUnsafe(READ_BYTES);
  return shared;
}

function takeSpare(): Buffer {
  return spare.pop() ?? Buffer.allocUnsafe(READ_BYTES);
}

function giveBack(buffer: Buffer): void {
  if (buffer !== shared && spare.length < SPARE_BUFFERS) spare.push(buffer);
}

// A connection to rserver's socket whose reads go into buffers of ours. Left to itself, Node
// allocates a fresh 64 KiB ArrayBuffer for every read; during a download those pile up as
// garbage (30 MB between two scavenges at 250 MB/s) and the scavenges they force, with the heap
// of a whole `serve`, turned into a full mark-compact every 150 ms: 13% of serve's CPU. For
// node:http (every request, every WebSocket) each read is copied out of one shared buffer into
// one of its exact size; a raw body (raw-body.ts) is read into buffers that are used again once
// the client's socket has taken them.
export function connectBackendSocket(options: NetConnectOpts): Socket {
  const reads: Reads = { sink: undefined };
  const socket = createConnection({
    ...options,
    onread: {
      buffer: () => (reads.sink === undefined ? getShared() : takeSpare()),
      // true: the socket goes on reading (backpressure pauses it through pause()).
      callback: (bytes: number, buffer: Uint8Array) => {
        const read = buffer as Buffer;
        if (reads.sink === undefined) {
          socket.emit('data', Buffer.from(read.subarray(0, bytes)));
        } else if (read === shared) {
          // Read before the switch, into the buffer the next read of any connection reuses.
          reads.sink(Buffer.from(read.subarray(0, bytes)), () => undefined);
        } else {
          reads.sink(read.subarray(0, bytes), () => giveBack(read));
        }
        return true;
      },
    },
  });
  (socket as Carrier)[READS] = reads;
  return socket;
}

// Whether a connection's reads can be handed to a sink: it is one of connectBackendSocket's.
export function canTakeReads(socket: unknown): socket is Socket {
  return typeof socket === 'object' && socket !== null && READS in socket;
}

// From now on what arrives on the connection goes to `sink`, not to node:http.
export function takeReads(socket: Socket, sink: RawSink): void {
  const reads = (socket as Carrier)[READS];
  if (reads !== undefined) reads.sink = sink;
}
