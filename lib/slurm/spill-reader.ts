// The login side of a two-lane step connection (issue #15): srun's stdout read as frames, in
// order; a chunk file announced there is read whole, removed, its bytes pushed at that point of
// the stream and acknowledged to the relay. Chunks are read only while the reader above wants
// bytes, so a slow client holds back the relay (whose window of chunks fills) and rserver.
import { constants } from 'node:fs';
import { open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RSessionProxyError } from '../errors.js';
import { encodeAck, FrameReader, isChunkFileOf, type Frame } from './relay-frames.js';

/** Frames waiting behind a chunk being read, beyond which srun's stdout pauses. */
const INBOX_LIMIT = 1024 * 1024;

// A chunk file's bytes: exactly `length` of them from a regular file (never through a symlink),
// the file removed once read.
export async function takeChunkFile(dir: string, name: string, length: number): Promise<Buffer> {
  const path = join(dir, name);
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  let bytes: Buffer;
  try {
    const stats = await handle.stat();
    if (!stats.isFile() || stats.size !== length) {
      throw new Error(
        `it is ${stats.isFile() ? `${stats.size} bytes long, not ${length}` : 'not a regular file'}`,
      );
    }
    bytes = Buffer.allocUnsafe(length);
    for (let at = 0; at < length;) {
      const { bytesRead } = await handle.read(bytes, at, length - at, at);
      if (bytesRead === 0) throw new Error(`it ended after ${at} of ${length} bytes`);
      at += bytesRead;
    }
  } finally {
    await handle.close();
  }
  await rm(path, { force: true });
  return bytes;
}

// Removes whatever chunk files of one connection are left once its step has ended: a relay
// that srun ended with SIGKILL could not. (On NFS a listing may lag behind the node's last
// files; the job's exec removes the directory when the job ends, whatever is left in it.)
export async function removeConnectionChunks(dir: string, prefix: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const mine = names.filter((name) => isChunkFileOf(prefix, name));
  await Promise.all(
    mine.map((name) => rm(join(dir, name), { force: true }).catch(() => undefined)),
  );
}

export interface SpillReaderEvents {
  /** Bytes of the stream, in order; false: stop until `resume()`. */
  push(bytes: Buffer): boolean;
  /** A frame for the relay, on the step's stdin. */
  send(frame: Buffer): void;
  /** srun's stdout should pause (true) or go on (false). */
  pauseSource(paused: boolean): void;
  /** The stream cannot go on: a chunk unreadable, a frame not of this protocol. */
  fail(error: Error): void;
}

/** How much went through the file lane on one connection. */
export interface SpillCounts {
  chunks: number;
  bytes: number;
}

export class SpillReader {
  readonly #dir: string;
  readonly #events: SpillReaderEvents;
  readonly #frames = new FrameReader(['data', 'file'], 'relay on the node');
  readonly #inbox: Frame[] = [];
  #inboxBytes = 0;
  #reading = false;
  #wanted = true;
  #stopped = false;
  #onSettled: (() => void) | undefined;
  readonly counts: SpillCounts = { chunks: 0, bytes: 0 };

  constructor(dir: string, events: SpillReaderEvents) {
    this.#dir = dir;
    this.#events = events;
  }

  /** Nothing waits to be pushed and no chunk is being read. */
  get settled(): boolean {
    return !this.#reading && this.#inbox.length === 0;
  }

  // A piece of srun's stdout. Data frames go straight up while nothing waits before them.
  read(piece: Buffer): void {
    if (this.#stopped) return;
    let frames: Frame[];
    try {
      frames = this.#frames.read(piece);
    } catch (error) {
      this.#fail(error as Error);
      return;
    }
    for (const frame of frames) {
      if (frame.kind === 'data' && this.settled) {
        if (!this.#events.push(frame.bytes)) this.#wanted = false;
        continue;
      }
      this.#inbox.push(frame);
      if (frame.kind === 'data') this.#inboxBytes += frame.bytes.length;
    }
    this.#pump();
  }

  // The reader above wants bytes again.
  resume(): void {
    this.#wanted = true;
    this.#pump();
  }

  /** Calls `callback` once nothing waits (at once when nothing does). */
  whenSettled(callback: () => void): void {
    if (this.settled) callback();
    else this.#onSettled = callback;
  }

  // The connection is gone: chunks announced and not read are removed (the relay removes the
  // ones it has not announced).
  stop(): void {
    this.#stopped = true;
    for (const frame of this.#inbox.splice(0)) {
      if (frame.kind === 'file') void rm(join(this.#dir, frame.name), { force: true });
    }
  }

  #pump(): void {
    // Stopped, srun's stdout is the connection's to drain: it is never paused again here.
    if (this.#stopped) return;
    while (!this.#reading && this.#inbox.length > 0) {
      const frame = this.#inbox[0] as Frame;
      if (frame.kind === 'data') {
        this.#inbox.shift();
        this.#inboxBytes -= frame.bytes.length;
        if (!this.#events.push(frame.bytes)) this.#wanted = false;
        continue;
      }
      if (frame.kind !== 'file' || !this.#wanted) break;
      this.#inbox.shift();
      this.#readChunk(frame.name, frame.length, frame.sequence);
    }
    this.#events.pauseSource(!this.#wanted || this.#inboxBytes > INBOX_LIMIT);
    if (this.settled) {
      const callback = this.#onSettled;
      this.#onSettled = undefined;
      callback?.();
    }
  }

  #readChunk(name: string, length: number, sequence: number): void {
    this.#reading = true;
    takeChunkFile(this.#dir, name, length).then(
      (bytes) => {
        this.#reading = false;
        if (this.#stopped) return;
        this.counts.chunks++;
        this.counts.bytes += length;
        this.#events.send(encodeAck(sequence));
        if (!this.#events.push(bytes)) this.#wanted = false;
        this.#pump();
      },
      (error: unknown) => {
        this.#reading = false;
        void rm(join(this.#dir, name), { force: true }).catch(() => undefined);
        this.#fail(
          new RSessionProxyError(
            'EBACKEND',
            `Cannot read the chunk file ${join(this.#dir, name)} the relay on the node announced: ${(error as Error).message}.`,
            {
              cause: error,
              hint: 'Is the state directory shared between this host and the node? Without it, turn chunk files off (--no-spill).',
            },
          ),
        );
      },
    );
  }

  #fail(error: Error): void {
    this.stop();
    this.#events.fail(error);
  }
}
