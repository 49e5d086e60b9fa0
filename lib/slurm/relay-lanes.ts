// The node side of a two-lane step connection (issue #15). srun moves a step's output in
// messages of at most 1 KiB, each read, sent and written on its own, which caps a download at
// about 40 MB/s. So while srun's stdout keeps up, rserver's bytes go inline in data frames; once
// it falls behind, the next bytes go into chunk files in the user's private state directory on
// the shared home, each announced by a small frame where its bytes belong in the stream. The
// login side reads, removes and acknowledges each chunk; at most `window` wait unacknowledged,
// and rserver's socket is paused while they do: backpressure end to end, bounded disk use.
import type { Socket } from 'node:net';
import {
  encodeDataHeader,
  encodeFileFrame,
  FrameReader,
  MAX_FRAME_LENGTH,
} from './relay-frames.js';
import { SpillLane, type ChunkFile } from './spill-writer.js';

export interface LaneOptions {
  /** The private directory chunk files go to (checked by the caller). */
  spillDir: string;
  /** One line for the relay's stderr (a lane turned off). */
  log: (line: string) => void;
  /** The relay's one line for a failure of rserver's socket. */
  describeSocketError: (error: NodeJS.ErrnoException) => Error;
  /** Ends the relay at once, removing its chunks (SIGTERM from srun). */
  signal?: AbortSignal | undefined;
  /** The chunk files' name prefix (the login side's, so that it can remove them too). */
  prefix?: string | undefined;
  /** Tunables, for tests; the defaults are the reasons below. */
  backlog?: number | undefined;
  chunkBytes?: number | undefined;
  window?: number | undefined;
}

/**
 * srun's stdout backlog from which new bytes go to a chunk file. srun carries about 40 MB/s, so
 * 256 KiB is some 6 ms of its work: far above what a WebSocket message or a long poll's answer
 * leaves queued (a few KiB, which therefore always go inline, at once), and reached within the
 * first milliseconds of a download. It is also four times the pipe's own 64 KiB, so one full
 * pipe alone does not start the file lane.
 */
export const SPILL_BACKLOG = 256 * 1024;
/** A chunk's size: large enough that a file per chunk costs little even on NFS. */
export const CHUNK_BYTES = 4 * 1024 * 1024;
/** Bytes in unacknowledged chunks at most (4 full chunks): the disk one connection may use. */
export const CHUNK_WINDOW = 4 * CHUNK_BYTES;
/** Appended bytes not yet written to the chunk file beyond which rserver's socket pauses. */
const WRITE_BEHIND = 1024 * 1024;
/**
 * How long rserver's socket may give nothing before the open chunk is closed and announced:
 * far below anything a person notices, a few times the gap between a busy sender's writes.
 */
const IDLE_MS = 2;
/** Below this, a data frame goes out as one buffer (one write for a small message). */
const SMALL = 16 * 1024;

type Output = NodeJS.WritableStream & { readonly writableLength?: number };

/** What must go out in stream order once the items before it have. */
type Item = { kind: 'chunk'; chunk: ChunkFile } | { kind: 'inline'; buffers: Buffer[] };

// Relays the framed `input` to `socket` and the socket to `output`, through both lanes; resolves
// once the socket has closed, everything is written out and every chunk acknowledged (or the
// login side is gone, its chunks removed).
export function relayLanes(
  socket: Socket,
  stdio: { input: NodeJS.ReadableStream; output: Output },
  options: LaneOptions,
): Promise<void> {
  const { input, output } = stdio;
  const backlog = options.backlog ?? SPILL_BACKLOG;
  const chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
  const lane = new SpillLane(
    options.spillDir,
    { window: options.window ?? CHUNK_WINDOW, chunkBytes, prefix: options.prefix },
    options.log,
  );
  const reader = new FrameReader(['data', 'ack', 'end'], 'login side');
  const queue: Item[] = [];
  let open: ChunkFile | undefined;
  let paused = false;
  let dataSeen = 0;
  let idleCheck = false;
  let socketClosed = false;
  let inputPaused = false;
  let done = false;

  return new Promise((resolve, reject) => {
    let failure: Error | undefined;
    const backlogOf = () => output.writableLength ?? 0;

    const writeInline = (bytes: Buffer) => {
      for (let at = 0; at < bytes.length; at += MAX_FRAME_LENGTH) {
        const piece = bytes.subarray(at, at + MAX_FRAME_LENGTH);
        if (piece.length < SMALL)
          output.write(Buffer.concat([encodeDataHeader(piece.length), piece]));
        else {
          output.write(encodeDataHeader(piece.length));
          output.write(piece);
        }
      }
    };

    // Sends what the queue's head allows, in order: inline runs, closed chunks' announcements,
    // failed chunks' bytes inline in their place.
    const advance = () => {
      while (queue.length > 0) {
        const item = queue[0] as Item;
        if (item.kind === 'inline') {
          for (const buffer of item.buffers) writeInline(buffer);
        } else if (item.chunk.state === 'closed') {
          const { chunk } = item;
          output.write(encodeFileFrame(chunk.length, chunk.sequence, chunk.name));
        } else if (item.chunk.state === 'failed') {
          for (const buffer of item.chunk.takeBuffers()) writeInline(buffer);
        } else break;
        queue.shift();
      }
      flow();
      maybeFinish();
    };

    // Once a download took the file lane it stays there while its chunks are unacknowledged:
    // bytes sent inline meanwhile would queue in srun ahead of the next announcement.
    const wantsFiles = () => queue.length > 0 || lane.unacked > 0 || backlogOf() >= backlog;

    // Pauses rserver's socket when its next bytes have nowhere to go: the open chunk's writes
    // are behind, or no chunk may start (a full window) while the file lane is in use or
    // srun's stdout is behind.
    const flow = () => {
      if (done) return;
      let accept: boolean;
      if (open) accept = open.pendingBytes < WRITE_BEHIND;
      else if (lane.canStart) accept = true;
      else if (lane.usable) accept = !wantsFiles();
      else accept = queue.length === 0 && backlogOf() < backlog;
      if (!accept && !paused) {
        paused = true;
        socket.pause();
      } else if (accept && paused) {
        paused = false;
        socket.resume();
        scheduleIdleCheck();
      }
    };

    const seal = () => {
      if (!open) return;
      open.seal();
      open = undefined;
    };

    // A chunk with bytes in it is closed and announced once the socket has no more to give
    // right now (IDLE_MS without data while not paused by us): nothing waits in a half-written
    // file, and a sender that is merely a little slower than the relay still fills whole chunks.
    const scheduleIdleCheck = () => {
      if (idleCheck || !open) return;
      idleCheck = true;
      const seen = dataSeen;
      setTimeout(() => {
        idleCheck = false;
        if (!open || paused) return;
        if (dataSeen !== seen) scheduleIdleCheck();
        else {
          seal();
          flow();
        }
      }, IDLE_MS).unref();
    };

    const startChunk = (): ChunkFile => {
      const chunk = lane.start({
        // A chunk that failed takes no more bytes: they follow it inline.
        onSettled: () => {
          if (open === chunk) open = undefined;
          advance();
        },
        onWritten: flow,
      });
      queue.push({ kind: 'chunk', chunk });
      return chunk;
    };

    socket.on('data', (bytes: Buffer) => {
      dataSeen++;
      if (!open && lane.canStart && wantsFiles()) {
        open = startChunk();
      }
      if (open) {
        open.append(bytes);
        if (open.length >= chunkBytes) seal();
        else scheduleIdleCheck();
      } else if (queue.length > 0) {
        const last = queue.at(-1);
        if (last?.kind === 'inline') last.buffers.push(bytes);
        else queue.push({ kind: 'inline', buffers: [bytes] });
      } else writeInline(bytes);
      flow();
    });
    output.on('drain', flow);

    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      lane.close();
      socket.destroy();
      input.removeListener('data', onInput);
      input.pause();
      options.signal?.removeEventListener('abort', onAbort);
      const failed = error ?? failure;
      // Stopped, the relay goes at once: srun, which stopped it, reads nothing more.
      if (options.signal?.aborted) {
        output.end();
        resolve();
        return;
      }
      output.end(() => (failed ? reject(failed) : resolve()));
    };

    // The end: the socket closed, everything sent, every chunk acknowledged.
    const maybeFinish = () => {
      if (socketClosed && !open && queue.length === 0 && lane.unacked === 0) finish();
    };

    const onInput = (piece: Buffer) => {
      let frames;
      try {
        frames = reader.read(piece);
      } catch (error) {
        finish(error as Error);
        return;
      }
      for (const frame of frames) {
        if (frame.kind === 'data') {
          if (!socket.destroyed && !socket.write(frame.bytes) && !inputPaused) {
            inputPaused = true;
            input.pause();
            socket.once('drain', () => {
              inputPaused = false;
              input.resume();
            });
          }
        } else if (frame.kind === 'ack') lane.ack(frame.sequence);
        else if (frame.kind === 'end') socket.end();
      }
      flow();
      maybeFinish();
    };
    input.on('data', onInput);
    // The login side closes the step's stdin only when it is gone: its chunks are removed.
    input.on('end', () => finish());
    input.on('error', () => finish());
    output.on('error', (error: Error) => finish(error));
    const onAbort = () => finish();
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });

    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return;
      failure ??= options.describeSocketError(error);
    });
    socket.once('end', () => seal());
    socket.once('close', () => {
      socketClosed = true;
      seal();
      advance();
    });
  });
}
