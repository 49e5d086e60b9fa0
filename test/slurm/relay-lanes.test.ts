// The two-lane relay (lib/slurm/relay-lanes.ts) against a local Unix socket, no Slurm needed:
// its stdout is a stream that takes bytes at srun's pace, read by the login side's reader
// (lib/slurm/spill-reader.ts), whose acknowledgements go back on its stdin. Bulk bytes take the
// chunk files and arrive in order, small answers never do, a directory that goes away turns
// the files off with one line, and an end removes every chunk nobody read.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { relayUnixSocket } from '../../lib/slurm/relay.js';
import { encodeDataHeader, END_FRAME } from '../../lib/slurm/relay-frames.js';
import { SpillReader } from '../../lib/slurm/spill-reader.js';
import { CLI, makeCliEnv } from '../helpers/cli.js';
import { waitUntil } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

// A server on a socket in a private temp directory; `onConnection` plays rserver.
async function listen(onConnection: (socket: Socket) => void): Promise<string> {
  const path = join(makeTempDir('rsp-lanes-'), 'backend.sock');
  const server = createServer({ allowHalfOpen: true }, onConnection);
  server.listen(path);
  await once(server, 'listening');
  after(() => new Promise((resolve) => server.close(resolve)));
  return path;
}

function makeSpillDir(): string {
  const dir = join(makeTempDir('rsp-spill-'), 'spill');
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

interface Login {
  input: PassThrough;
  output: Writable;
  reader: SpillReader;
  received: () => Buffer;
}

// The login side: a reader of the relay's stdout that takes `mbPerSecond` (srun's pace; 0: it
// takes nothing at all), and the relay's stdin, where the request and the acknowledgements go.
function makeLogin(spillDir: string, mbPerSecond: number): Login {
  const input = new PassThrough();
  const chunks: Buffer[] = [];
  const reader = new SpillReader(spillDir, {
    push: (bytes) => chunks.push(bytes) > 0,
    send: (frame) => input.write(frame),
    pauseSource: () => undefined,
    fail: (error) => {
      throw error;
    },
  });
  const output = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      if (mbPerSecond === 0) return;
      reader.read(chunk);
      setTimeout(callback, chunk.length / (mbPerSecond * 1000));
    },
  });
  return { input, output, reader, received: () => Buffer.concat(chunks) };
}

function request(login: Login, text: string): void {
  login.input.write(Buffer.concat([encodeDataHeader(text.length), Buffer.from(text)]));
  login.input.write(END_FRAME);
}

describe('the two-lane relay', () => {
  test('a download faster than stdout takes chunk files, arrives in order, leaves none', async () => {
    const answer = randomBytes(24 * 1024 * 1024);
    const socketPath = await listen((socket) => {
      socket.resume();
      socket.on('end', () => socket.end(answer));
    });
    const spillDir = makeSpillDir();
    const login = makeLogin(spillDir, 40);
    request(login, 'GET /big HTTP/1.1\r\n\r\n');
    const lines: string[] = [];
    await relayUnixSocket(
      socketPath,
      { input: login.input, output: login.output },
      { spillDir, log: (line) => lines.push(line) },
    );
    assert.equal(sha256(login.received()), sha256(answer), 'every byte, in order');
    assert.ok(login.reader.counts.chunks > 0, 'chunk files were used');
    assert.ok(login.reader.counts.bytes < answer.length, 'and the inline lane too');
    assert.deepEqual(readdirSync(spillDir), [], 'none left');
    assert.deepEqual(lines, []);
  });

  test('small answers (WebSocket messages) go inline at once, never through a file', async () => {
    const socketPath = await listen((socket) => {
      socket.on('data', (bytes: Buffer) => socket.write(bytes));
      socket.on('end', () => socket.end());
    });
    const spillDir = makeSpillDir();
    const login = makeLogin(spillDir, 40);
    const relayed = relayUnixSocket(
      socketPath,
      { input: login.input, output: login.output },
      { spillDir },
    );
    for (let i = 0; i < 50; i++) {
      const message = randomBytes(2048);
      login.input.write(Buffer.concat([encodeDataHeader(message.length), message]));
      await waitUntil(() => login.received().length === (i + 1) * 2048, 5000, `echo ${i}`);
    }
    login.input.write(END_FRAME);
    await relayed;
    assert.equal(login.reader.counts.chunks, 0);
  });

  test('a chunk directory gone after the check: inline for the rest, whole, one line', async () => {
    const answer = randomBytes(8 * 1024 * 1024);
    let connected: () => void = () => undefined;
    const connection = new Promise<void>((resolve) => (connected = resolve));
    const socketPath = await listen((socket) => {
      connected();
      socket.resume();
      socket.on('end', () => socket.end(answer));
    });
    const spillDir = makeSpillDir();
    const login = makeLogin(spillDir, 40);
    const lines: string[] = [];
    const relayed = relayUnixSocket(
      socketPath,
      { input: login.input, output: login.output },
      { spillDir, log: (line) => lines.push(line) },
    );
    // Checked private before the relay connects; gone before its first chunk.
    await connection;
    rmSync(spillDir, { recursive: true });
    request(login, 'GET /big HTTP/1.1\r\n\r\n');
    await relayed;
    assert.equal(sha256(login.received()), sha256(answer));
    assert.equal(login.reader.counts.chunks, 0);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(
      lines[0] ?? '',
      /^relay: chunk files off for this connection \(ENOENT in .*\); the rest goes through srun$/,
    );
  });

  test('stopped mid-download (SIGTERM from srun): every chunk not acknowledged is removed', async () => {
    const socketPath = await listen((socket) => {
      // The relay destroys its end when stopped: this side's write then breaks.
      socket.on('error', () => undefined);
      socket.resume();
      socket.on('end', () => socket.end(randomBytes(64 * 1024 * 1024)));
    });
    const spillDir = makeSpillDir();
    // A login side that takes nothing: the chunks pile up to the window.
    const login = makeLogin(spillDir, 0);
    const abort = new AbortController();
    const relayed = relayUnixSocket(
      socketPath,
      { input: login.input, output: login.output },
      { spillDir, signal: abort.signal },
    );
    request(login, 'GET /big HTTP/1.1\r\n\r\n');
    await waitUntil(() => readdirSync(spillDir).length > 0, 10_000, 'a chunk file');
    abort.abort();
    assert.deepEqual(readdirSync(spillDir), [], 'removed at once');
    login.output.destroy();
    await relayed.catch(() => undefined);
    await waitUntil(() => readdirSync(spillDir).length === 0, 5000, 'still none');
  });

  test('a spill directory that is not private is refused, saying why; bad flags are usage errors', () => {
    const { env } = makeCliEnv();
    const open = join(makeTempDir('rsp-spill-'), 'open');
    mkdirSync(open, { mode: 0o755 });
    const run = (args: string[]) =>
      spawnSync(process.execPath, [CLI, 'relay', ...args], {
        env,
        input: '',
        encoding: 'utf8',
        timeout: 30_000,
      });
    const refused = run(['--socket=/tmp/none.sock', `--spill-dir=${open}`]);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /Refusing to use .*open: its mode is 0755, which lets other users in/,
    );
    for (const args of [
      ['--socket=/tmp/x.sock', '--spill-dir=spill'],
      ['--socket=/tmp/x.sock', `--spill-dir=${open}`, '--spill-prefix=xyz'],
    ]) {
      const result = run(args);
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /^rsession-proxy relay: --spill-(dir|prefix) needs /);
    }
  });
});
