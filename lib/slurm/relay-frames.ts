// The framed protocol a Slurm step speaks when bulk bytes may take the file lane (issue #15):
// srun's stdio carries frames, each a type byte and a few header bytes, so that "the next N
// bytes are in chunk file F" can sit in the byte stream exactly where those bytes belong, and
// the login side can acknowledge a chunk on the step's stdin next to the request's bytes.
//
//   data  0x01  u32 length, then that many bytes of the stream       (both ways)
//   file  0x02  u32 length, u32 sequence, u8 name length, the name   (relay → login side)
//   ack   0x03  u32 sequence: that chunk was read and removed        (login side → relay)
//   end   0x04  no more request bytes: half-close rserver's socket    (login side → relay)
//
// Integers are big-endian. A data frame's payload is handed on in the pieces it arrives in,
// never gathered: a frame split across reads costs no copy and no wait.
import { randomBytes } from 'node:crypto';
import { RSessionProxyError } from '../errors.js';

export const FRAME = { data: 0x01, file: 0x02, ack: 0x03, end: 0x04 } as const;

/** What a frame reader hands on, in stream order. */
export type Frame =
  | { kind: 'data'; bytes: Buffer }
  | { kind: 'file'; length: number; sequence: number; name: string }
  | { kind: 'ack'; sequence: number }
  | { kind: 'end' };

export type FrameKind = Frame['kind'];

/** The largest payload one data frame may announce (u32). */
export const MAX_FRAME_LENGTH = 0xffff_ffff;

/** A chunk file's name: plain, short, no path in it (the reader joins it to its own directory). */
export const CHUNK_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}\.chunk$/;

/** A connection's chunk-file prefix: 16 hex digits, which the login side picks and passes on. */
export const CHUNK_PREFIX = /^[0-9a-f]{16}$/;

// A fresh prefix for one connection's chunk files.
export function createChunkPrefix(): string {
  return randomBytes(8).toString('hex');
}

// The name of a connection's chunk file `sequence`.
export function getChunkFileName(prefix: string, sequence: number): string {
  return `${prefix}-${sequence}.chunk`;
}

// Whether `name` is one of the chunk files of the connection with this prefix.
export function isChunkFileOf(prefix: string, name: string): boolean {
  return name.startsWith(`${prefix}-`) && name.endsWith('.chunk');
}

// The 5 bytes that go before `length` bytes of the stream.
export function encodeDataHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(5);
  header[0] = FRAME.data;
  header.writeUInt32BE(length, 1);
  return header;
}

// "The next `length` bytes of the stream are in the chunk file `name`."
export function encodeFileFrame(length: number, sequence: number, name: string): Buffer {
  const nameBytes = Buffer.from(name, 'latin1');
  if (!CHUNK_NAME.test(name)) throw new TypeError(`Not a chunk file name: ${name}`);
  const frame = Buffer.allocUnsafe(10 + nameBytes.length);
  frame[0] = FRAME.file;
  frame.writeUInt32BE(length, 1);
  frame.writeUInt32BE(sequence, 5);
  frame[9] = nameBytes.length;
  nameBytes.copy(frame, 10);
  return frame;
}

// The login side's word that chunk `sequence` was read and removed.
export function encodeAck(sequence: number): Buffer {
  const frame = Buffer.allocUnsafe(5);
  frame[0] = FRAME.ack;
  frame.writeUInt32BE(sequence, 1);
  return frame;
}

export const END_FRAME: Buffer = Buffer.from([FRAME.end]);

const KIND_OF = new Map<number, FrameKind>([
  [FRAME.data, 'data'],
  [FRAME.file, 'file'],
  [FRAME.ack, 'ack'],
  [FRAME.end, 'end'],
]);

// How many header bytes a frame of `type` has, given those read so far (a file frame's name
// length is its tenth byte).
function headerLength(type: number, header: Buffer, have: number): number {
  switch (type) {
    case FRAME.data:
    case FRAME.ack:
      return 5;
    case FRAME.end:
      return 1;
    default:
      return have < 10 ? 10 : 10 + (header[9] ?? 0);
  }
}

/**
 * Reads frames from a byte stream that arrives in arbitrary pieces. Each `read(piece)` returns
 * the frames (and pieces of data frames) that piece completes; only header bytes are copied.
 * Frames of a kind the reader does not expect from its peer are an error: the two ends are not
 * speaking the same protocol.
 */
export class FrameReader {
  readonly #accepted: ReadonlySet<FrameKind>;
  readonly #peer: string;
  readonly #header = Buffer.allocUnsafe(10 + 255);
  #have = 0;
  /** Payload bytes of the current data frame still to come. */
  #dataLeft = 0;

  constructor(accepted: readonly FrameKind[], peer: string) {
    this.#accepted = new Set(accepted);
    this.#peer = peer;
  }

  /** True between frames: nothing half-read. */
  get idle(): boolean {
    return this.#have === 0 && this.#dataLeft === 0;
  }

  read(piece: Buffer): Frame[] {
    const frames: Frame[] = [];
    let at = 0;
    while (at < piece.length) {
      if (this.#dataLeft > 0) {
        const take = Math.min(this.#dataLeft, piece.length - at);
        frames.push({
          kind: 'data',
          bytes: take === piece.length ? piece : piece.subarray(at, at + take),
        });
        this.#dataLeft -= take;
        at += take;
        continue;
      }
      if (this.#have === 0) this.#checkType(piece[at] ?? 0);
      const type = this.#have === 0 ? (piece[at] ?? 0) : (this.#header[0] ?? 0);
      // Header bytes, a few at a time until the header is whole.
      for (;;) {
        const need = headerLength(type, this.#header, this.#have);
        if (this.#have >= need || at >= piece.length) break;
        const take = Math.min(need - this.#have, piece.length - at);
        piece.copy(this.#header, this.#have, at, at + take);
        this.#have += take;
        at += take;
      }
      if (this.#have < headerLength(type, this.#header, this.#have)) break;
      const frame = this.#decodeHeader(type);
      this.#have = 0;
      if (frame) frames.push(frame);
    }
    return frames;
  }

  #checkType(type: number): void {
    const kind = KIND_OF.get(type);
    if (kind === undefined || !this.#accepted.has(kind)) {
      throw new RSessionProxyError(
        'EBACKEND',
        `The ${this.#peer} sent ${kind === undefined ? `a byte (0x${type.toString(16).padStart(2, '0')})` : `${kind === 'data' || kind === 'file' ? 'a' : 'an'} ${kind} frame`} where a frame of the step's protocol was expected: both ends must run the same rsession-proxy.`,
      );
    }
  }

  // The frame a whole header describes; a data frame's payload follows it.
  #decodeHeader(type: number): Frame | undefined {
    const header = this.#header;
    switch (type) {
      case FRAME.data: {
        this.#dataLeft = header.readUInt32BE(1);
        return undefined;
      }
      case FRAME.ack:
        return { kind: 'ack', sequence: header.readUInt32BE(1) };
      case FRAME.end:
        return { kind: 'end' };
      default: {
        const name = header.toString('latin1', 10, 10 + (header[9] ?? 0));
        if (!CHUNK_NAME.test(name)) {
          throw new RSessionProxyError(
            'EBACKEND',
            `The ${this.#peer} announced a chunk file with an unexpected name: ${JSON.stringify(name)}.`,
          );
        }
        return {
          kind: 'file',
          length: header.readUInt32BE(1),
          sequence: header.readUInt32BE(5),
          name,
        };
      }
    }
  }
}
