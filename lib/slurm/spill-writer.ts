// The node side of the file lane (issue #15): chunk files in a private directory on the home
// directory that the login and compute nodes share, written while srun's stdout is behind.
// Each chunk is a fresh name made with O_CREAT|O_EXCL (never an existing file, never through a
// symlink), mode 0600, closed before it is announced: NFS's close-to-open consistency then lets
// the login side, which opens it after the announcement, see it whole. A fresh name also means
// the login side has never looked it up, so no cached "no such file" stands in the way.
import { constants, rmSync } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createChunkPrefix, getChunkFileName } from './relay-frames.js';

/** Chunks unacknowledged at most, however small (each is a file and a frame). */
const MAX_CHUNKS = 16;
/** At most this many buffers go to one writev (IOV_MAX is 1024 on Linux). */
const MAX_IOV = 1024;

// Writes every byte of `buffers`, however short the kernel's writes are.
async function writeAll(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    const batch = rest.slice(0, MAX_IOV);
    const total = batch.reduce((sum, buffer) => sum + buffer.length, 0);
    let { bytesWritten } = await handle.writev(batch);
    if (bytesWritten === total) {
      rest = rest.slice(batch.length);
      continue;
    }
    // A short write: drop what was written, keep the rest in order.
    const left: Buffer[] = [];
    for (const buffer of rest) {
      if (bytesWritten >= buffer.length) bytesWritten -= buffer.length;
      else {
        left.push(bytesWritten > 0 ? buffer.subarray(bytesWritten) : buffer);
        bytesWritten = 0;
      }
    }
    rest = left;
  }
}

/**
 * One chunk file: bytes appended in stream order and written behind, `seal()` to close it once
 * no more will come. Its bytes stay in memory until it is closed, so that a chunk that cannot
 * be written goes inline whole instead. `onSettled` fires once, closed or failed.
 */
export class ChunkFile {
  readonly sequence: number;
  readonly name: string;
  readonly path: string;
  /** Bytes appended so far. */
  length = 0;
  state: 'writing' | 'closed' | 'failed' = 'writing';
  #sealed = false;
  #buffers: Buffer[] = [];
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #wake: (() => void) | undefined;
  readonly #lane: SpillLane;
  readonly #onSettled: () => void;
  readonly #onWritten: () => void;

  constructor(
    lane: SpillLane,
    sequence: number,
    name: string,
    events: { onSettled: () => void; onWritten: () => void },
  ) {
    this.#lane = lane;
    this.sequence = sequence;
    this.name = name;
    this.path = join(lane.dir, name);
    this.#onSettled = events.onSettled;
    this.#onWritten = events.onWritten;
    void this.#run();
  }

  get sealed(): boolean {
    return this.#sealed;
  }

  /** Bytes appended but not yet written to the file. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  append(bytes: Buffer): void {
    this.length += bytes.length;
    this.#buffers.push(bytes);
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    this.#wakeUp();
  }

  seal(): void {
    this.#sealed = true;
    this.#wakeUp();
  }

  /** A failed chunk's bytes, to go inline in its place. */
  takeBuffers(): Buffer[] {
    const buffers = this.#buffers;
    this.#buffers = [];
    return buffers;
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  // Opens, writes what is appended as it comes, closes once sealed; any failure removes the
  // partial file and turns the lane off.
  async #run(): Promise<void> {
    let handle: FileHandle | undefined;
    try {
      handle = await open(
        this.path,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      for (;;) {
        if (this.#lane.isClosed()) throw new Error('the relay ended');
        if (this.#pending.length > 0) {
          const batch = this.#pending;
          this.#pending = [];
          await writeAll(handle, batch);
          for (const buffer of batch) this.#pendingBytes -= buffer.length;
          this.#onWritten();
          continue;
        }
        if (this.#sealed) break;
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
      const closing = handle;
      handle = undefined;
      await closing.close();
      if (this.#lane.isClosed()) throw new Error('the relay ended');
      this.#buffers = [];
      this.state = 'closed';
    } catch (error) {
      await handle?.close().catch(() => undefined);
      await rm(this.path, { force: true }).catch(() => undefined);
      this.#pending = [];
      this.#pendingBytes = 0;
      this.state = 'failed';
      this.#lane.fail(this, error as NodeJS.ErrnoException);
    }
    this.#onSettled();
  }
}

/**
 * The chunk files of one connection: a name prefix of its own, a window of chunks not yet
 * acknowledged (bounded disk use), off for good after the first failure. `close()` removes every
 * chunk the login side has not acknowledged.
 */
export class SpillLane {
  readonly dir: string;
  /** Bytes of unacknowledged chunks at most, the open one counted whole. */
  readonly window: number;
  readonly chunkBytes: number;
  readonly #prefix: string;
  readonly #unacked = new Map<number, ChunkFile>();
  readonly #log: (line: string) => void;
  #next = 0;
  #failed = false;
  #closed = false;

  constructor(
    dir: string,
    sizes: { window: number; chunkBytes: number; prefix?: string | undefined },
    log: (line: string) => void,
  ) {
    this.dir = dir;
    this.window = sizes.window;
    this.chunkBytes = sizes.chunkBytes;
    this.#prefix = sizes.prefix ?? createChunkPrefix();
    this.#log = log;
  }

  /** Still usable: not failed, not closed (a full window waits for acknowledgements). */
  get usable(): boolean {
    return !this.#failed && !this.#closed;
  }

  // A method, not a getter: a chunk asks again after each await.
  isClosed(): boolean {
    return this.#closed;
  }

  /** Whether a new chunk (of up to chunkBytes) may start now without passing the window. */
  get canStart(): boolean {
    if (!this.usable || this.#unacked.size >= MAX_CHUNKS) return false;
    let bytes = 0;
    for (const chunk of this.#unacked.values())
      bytes += chunk.sealed ? chunk.length : this.chunkBytes;
    return bytes + this.chunkBytes <= this.window;
  }

  get unacked(): number {
    return this.#unacked.size;
  }

  start(events: { onSettled: () => void; onWritten: () => void }): ChunkFile {
    const sequence = this.#next++;
    const chunk = new ChunkFile(this, sequence, getChunkFileName(this.#prefix, sequence), events);
    this.#unacked.set(sequence, chunk);
    return chunk;
  }

  // The login side has read and removed the chunk.
  ack(sequence: number): void {
    this.#unacked.delete(sequence);
  }

  // A chunk that could not be written (full disk, quota, read-only, permissions): it goes inline,
  // and so does everything after it on this connection; one line says why.
  fail(chunk: ChunkFile, error: NodeJS.ErrnoException): void {
    this.#unacked.delete(chunk.sequence);
    if (this.#failed || this.#closed) return;
    this.#failed = true;
    this.#log(
      `relay: chunk files off for this connection (${error.code ?? error.message} in ${this.dir}); the rest goes through srun`,
    );
  }

  // Removes every chunk not acknowledged, synchronously: this runs on the relay's way out.
  close(): void {
    this.#closed = true;
    for (const chunk of this.#unacked.values()) rmSync(chunk.path, { force: true });
    this.#unacked.clear();
  }
}
