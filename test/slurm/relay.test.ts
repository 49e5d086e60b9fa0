// `rsession-proxy relay --socket=PATH`, the node side of a Slurm step connection, run as the
// built command against local Unix sockets (no Slurm needed): bytes both ways unchanged, the
// end of stdin half-closes the socket while the answer still comes, the whole answer is
// written out before the relay exits however slowly its reader reads, and every failure is a
// clear line on stderr with a non-zero exit code.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { relayUnixSocket } from '../../lib/slurm/relay.js';
import { CLI, runCli, makeCliEnv } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/temp.js';

const { env } = makeCliEnv();

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

interface RelayRun {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

// Runs the relay with `input` on its stdin (then its end), reading its stdout slowly: a chunk,
// then a pause, so that output is still queued in the relay when the socket closes.
async function runRelay(socketPath: string, input: Buffer, slowReader = false): Promise<RelayRun> {
  const child = spawn(process.execPath, [CLI, 'relay', `--socket=${socketPath}`], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    signal: AbortSignal.timeout(60_000),
  });
  child.on('error', () => undefined);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.on('error', () => undefined);
  child.stdin.end(input);
  const chunks: Buffer[] = [];
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    if (slowReader) await delay(2);
  }
  const [code] = (await (child.exitCode === null ? once(child, 'exit') : [child.exitCode])) as [
    number | null,
  ];
  return { code, stdout: Buffer.concat(chunks), stderr };
}

// A raw socket server in a private temp directory; `onConnection` plays the backend.
async function listen(
  onConnection: (socket: Socket) => void,
): Promise<{ path: string; server: Server }> {
  const path = join(makeTempDir('rsp-relay-'), 'backend.sock');
  const server = createServer({ allowHalfOpen: true }, onConnection);
  server.listen(path);
  await once(server, 'listening');
  after(() => new Promise((resolve) => server.close(resolve)));
  return { path, server };
}

describe('rsession-proxy relay', () => {
  test('carries bytes both ways; the end of stdin half-closes and the whole answer still comes', async () => {
    const request = randomBytes(1024 * 1024);
    const answer = randomBytes(20 * 1024 * 1024);
    let received: Buffer | undefined;
    // Answers only once the relay has half-closed, then closes at once.
    const { path } = await listen((socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => {
        received = Buffer.concat(chunks);
        socket.end(answer);
      });
    });
    const run = await runRelay(path, request, true);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.equal(received && sha256(received), sha256(request), 'what the socket received');
    assert.equal(run.stdout.length, answer.length, 'every byte of the answer');
    assert.equal(sha256(run.stdout), sha256(answer));
  });

  // process.stdout writes to a pipe synchronously on Linux, so the built command cannot show
  // this: given an output that takes its time, the relay ends only once it has taken it all.
  test('ends only once its output has taken everything the socket sent', async () => {
    const answer = randomBytes(4 * 1024 * 1024);
    const { path } = await listen((socket) => {
      socket.resume();
      socket.end(answer);
    });
    const written: Buffer[] = [];
    const output = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _encoding, callback) {
        written.push(chunk);
        setTimeout(callback, 1);
      },
    });
    const input = new PassThrough();
    const relayed = relayUnixSocket(path, { input, output });
    await relayed;
    assert.equal(sha256(Buffer.concat(written)), sha256(answer));
    assert.equal(output.writableFinished, true);
  });

  // A server that closes its end while the request still comes: what it sent arrives, the rest
  // of the request is dropped, and the relay ends cleanly.
  test('a server that answers and closes mid-request: its answer arrives, exit 0', async () => {
    const answer = randomBytes(1000);
    const { path } = await listen((socket) => {
      socket.once('data', () => socket.end(answer));
      socket.resume();
    });
    const run = await runRelay(path, randomBytes(8 * 1024 * 1024));
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.equal(sha256(run.stdout), sha256(answer));
  });

  // A server that stops reading and goes away aborts the connection: the kernel tells the relay
  // with an EOF, an ECONNRESET (bytes were left unread) or an EPIPE (its next write), by timing
  // alone, and like a reset over TCP it may take the answer with it (node:net drops a socket at
  // a failed write). The relay ends the same way each time: exit 0, nothing on stderr, the
  // answer or a part of it; the login side's HTTP framing tells a cut-off answer from a whole.
  test('a server that aborts mid-request ends the relay the same way however the kernel says it', async () => {
    const answer = randomBytes(1000);
    const { path } = await listen((socket) => {
      socket.once('data', () => {
        socket.pause();
        socket.write(answer, () => socket.destroy());
      });
    });
    for (let run = 0; run < 3; run++) {
      const result = await runRelay(path, randomBytes(8 * 1024 * 1024));
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '');
      assert.ok(result.stdout.equals(answer.subarray(0, result.stdout.length)), 'a prefix');
    }
  });

  test('no socket, or nothing listening: exit 1 saying which', async () => {
    const dir = makeTempDir('rsp-relay-');
    const missing = await runRelay(join(dir, 'none.sock'), Buffer.alloc(0));
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /relay: no socket at .*none\.sock on \S+ \(is RStudio running in this job\?\)/,
    );
    const notSocket = join(dir, 'file.sock');
    writeFileSync(notSocket, '');
    const refused = await runRelay(notSocket, Buffer.alloc(0));
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /relay: nothing listens on .*file\.sock/);
  });

  test('usage errors: exit 2 with one line', async () => {
    for (const args of [
      ['relay'],
      ['relay', '--socket=backend.sock'],
      ['relay', '--socket=/tmp/x.sock', '--', 'extra'],
      ['relay', '--socket=/tmp/x.sock', '--port=1'],
    ]) {
      const result = await runCli(args, env);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, /^rsession-proxy relay: /);
    }
  });
});
