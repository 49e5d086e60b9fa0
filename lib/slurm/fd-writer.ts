// A step's stdout that does not block the relay. Inside a Slurm step, fd 1 is a character
// device (slurmstepd's), for which Node's process.stdout writes synchronously: a relay blocked
// in write() cannot see srun fall behind, nor write a chunk file meanwhile. This stream writes
// on the thread pool instead, so its writableLength is what srun has not taken yet.
import { writeSync, writev } from 'node:fs';
import { Writable } from 'node:stream';

/**
 * Up to this many bytes are written at once, on the event loop: a WebSocket message or a small
 * answer does not pay a trip through the thread pool (two thread wake-ups on a busy node), and
 * even a full terminal buffer takes so few bytes from srun within a fraction of a millisecond.
 */
const SYNC_BYTES = 16 * 1024;
/** How long to wait before writing again to a descriptor that said EAGAIN. */
const RETRY_MS = 1;

// Writes every byte of `buffers` to `fd`, however short the kernel's writes are.
function writeAll(fd: number, buffers: Buffer[], callback: (error?: Error | null) => void): void {
  writev(fd, buffers, (error, written) => {
    if (error) {
      if (error.code === 'EAGAIN') {
        setTimeout(() => writeAll(fd, buffers, callback), RETRY_MS);
        return;
      }
      callback(error);
      return;
    }
    const rest: Buffer[] = [];
    let skip = written;
    for (const buffer of buffers) {
      if (skip >= buffer.length) skip -= buffer.length;
      else {
        rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
        skip = 0;
      }
    }
    if (rest.length === 0) callback();
    else writeAll(fd, rest, callback);
  });
}

// A Writable on `fd` whose large writes never block the event loop; the descriptor is left open.
export function createFdWriter(fd: number): Writable {
  return new Writable({
    highWaterMark: 64 * 1024,
    writev(chunks, callback) {
      let buffers = chunks.map(({ chunk }) => chunk as Buffer);
      const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
      if (total <= SYNC_BYTES) {
        const bytes = buffers.length === 1 ? (buffers[0] as Buffer) : Buffer.concat(buffers);
        let written = 0;
        try {
          written = writeSync(fd, bytes);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') {
            callback(error as Error);
            return;
          }
        }
        if (written === total) {
          callback();
          return;
        }
        buffers = [bytes.subarray(written)];
      }
      // At most 1024 buffers per writev (IOV_MAX); more wait for the next round.
      const batches: Buffer[][] = [];
      for (let at = 0; at < buffers.length; at += 1024) batches.push(buffers.slice(at, at + 1024));
      const next = (error?: Error | null) => {
        const batch = batches.shift();
        if (error || !batch) callback(error);
        else writeAll(fd, batch, next);
      };
      next();
    },
  });
}
