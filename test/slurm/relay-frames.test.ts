// The two-lane step protocol's frames (lib/slurm/relay-frames.ts) as pure functions: every
// stream read whole, split at every byte and byte by byte gives the same frames; what the
// other end must not send is refused with a line that says so.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isRSessionProxyError } from '../../lib/errors.js';
import {
  encodeAck,
  encodeDataHeader,
  encodeFileFrame,
  END_FRAME,
  FrameReader,
  type Frame,
  type FrameKind,
} from '../../lib/slurm/relay-frames.js';

const data = (text: string) => Buffer.concat([encodeDataHeader(text.length), Buffer.from(text)]);

// Adjacent data pieces as one, so that any split compares equal to the whole.
function normalize(frames: Frame[]): unknown[] {
  const out: unknown[] = [];
  for (const frame of frames) {
    const last = out.at(-1) as { kind: string; text?: string } | undefined;
    if (frame.kind === 'data') {
      if (last?.kind === 'data') last.text = `${last.text ?? ''}${frame.bytes.toString()}`;
      else out.push({ kind: 'data', text: frame.bytes.toString() });
    } else out.push(frame);
  }
  return out;
}

function readAll(kinds: FrameKind[], pieces: Buffer[]): unknown[] {
  const reader = new FrameReader(kinds, 'peer');
  const frames = pieces.flatMap((piece) => reader.read(piece));
  assert.equal(reader.idle, true, 'nothing half-read at the end');
  return normalize(frames);
}

describe('relay frames', () => {
  const table: { name: string; kinds: FrameKind[]; stream: Buffer; frames: unknown[] }[] = [
    {
      name: 'one data frame',
      kinds: ['data'],
      stream: data('hello'),
      frames: [{ kind: 'data', text: 'hello' }],
    },
    {
      name: 'data, a chunk file, data: the order of the lanes',
      kinds: ['data', 'file'],
      stream: Buffer.concat([
        data('HTTP/1.1 200 OK\r\n\r\n'),
        encodeFileFrame(4 * 1024 * 1024, 7, '0123456789abcdef-7.chunk'),
        data('tail'),
      ]),
      frames: [
        { kind: 'data', text: 'HTTP/1.1 200 OK\r\n\r\n' },
        { kind: 'file', length: 4 * 1024 * 1024, sequence: 7, name: '0123456789abcdef-7.chunk' },
        { kind: 'data', text: 'tail' },
      ],
    },
    {
      name: 'request bytes, acknowledgements and the end, from the login side',
      kinds: ['data', 'ack', 'end'],
      stream: Buffer.concat([
        data('GET / HTTP/1.1\r\n\r\n'),
        encodeAck(0),
        encodeAck(2 ** 32 - 1),
        END_FRAME,
      ]),
      frames: [
        { kind: 'data', text: 'GET / HTTP/1.1\r\n\r\n' },
        { kind: 'ack', sequence: 0 },
        { kind: 'ack', sequence: 2 ** 32 - 1 },
        { kind: 'end' },
      ],
    },
    {
      name: 'an empty data frame is nothing',
      kinds: ['data'],
      stream: Buffer.concat([encodeDataHeader(0), data('x')]),
      frames: [{ kind: 'data', text: 'x' }],
    },
  ];

  for (const { name, kinds, stream, frames } of table) {
    test(`${name}: whole, split at every byte, byte by byte`, () => {
      assert.deepEqual(readAll(kinds, [stream]), frames);
      for (let at = 0; at <= stream.length; at++) {
        assert.deepEqual(
          readAll(kinds, [stream.subarray(0, at), stream.subarray(at)]),
          frames,
          `split at ${at}`,
        );
      }
      const bytes = [...stream].map((byte) => Buffer.from([byte]));
      assert.deepEqual(readAll(kinds, bytes), frames);
    });
  }

  test('a data frame in one piece is handed on without a copy', () => {
    const stream = data('no copy');
    const [frame] = new FrameReader(['data'], 'peer').read(stream);
    assert.ok(frame?.kind === 'data');
    assert.equal(frame.bytes.buffer, stream.buffer);
  });

  test('what the other end must not send is refused, saying what came', () => {
    const refused: [FrameKind[], Buffer, RegExp][] = [
      [['data', 'file'], Buffer.from('HTTP/1.1 200 OK'), /sent a byte \(0x48\)/],
      [['data', 'file'], encodeAck(1), /sent an ack frame/],
      [['data', 'ack', 'end'], encodeFileFrame(1, 0, 'a-0.chunk'), /sent a file frame/],
      [
        ['data', 'file'],
        Buffer.concat([Buffer.from([0x02, 0, 0, 0, 1, 0, 0, 0, 0, 5]), Buffer.from('../xy')]),
        /unexpected name/,
      ],
    ];
    for (const [kinds, stream, message] of refused) {
      assert.throws(
        () => new FrameReader(kinds, 'peer').read(stream),
        (error: unknown) => isRSessionProxyError(error, 'EBACKEND') && message.test(error.message),
        message.source,
      );
    }
    assert.throws(() => encodeFileFrame(1, 0, '../etc/passwd'), TypeError);
  });
});
