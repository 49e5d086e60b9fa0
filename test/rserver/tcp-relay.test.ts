// The supervisor's relay to a port of the host (isolation `password`): another real user takes
// the port, as one may after rserver has ended, and gets a connection but not one byte of the
// browser's request; a port of the user's own is relayed as before.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { LogEntry } from '../../lib/index.js';
import { createPeerCheck } from '../../lib/rserver/tcp-port.js';
import { startTcpRelay, type TcpRelay } from '../../lib/rserver/tcp-relay.js';
import { makeTempDir } from '../helpers/temp.js';
import { asUser, isRoot, notRootReason, useUsers, type TestUser } from '../helpers/users.js';

const REQUEST = 'GET / HTTP/1.1\r\nHost: h\r\nCookie: user-id=the-victims-session\r\n\r\n';
const dir = makeTempDir('rsp-tcp-relay-');

// A listener on a port of 127.0.0.1 that says, a line each, when a connection comes, when bytes
// arrive, and how many it had in all when it closed.
const LISTENER = `const server = require('net').createServer((socket) => {
  let bytes = 0;
  console.log('connection');
  socket.on('data', (chunk) => { bytes += chunk.length; console.log('data ' + chunk.length); });
  socket.on('error', () => {});
  socket.on('close', () => console.log('closed ' + bytes));
});
server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));`;

interface Listener {
  port: number;
  /** Resolves with the next line the listener prints. */
  nextLine(): Promise<string>;
  stop(): void;
}

// LISTENER as `user`, or as this process's user when `user` is undefined.
async function startListener(user: TestUser | undefined): Promise<Listener> {
  const [command, args] =
    user === undefined
      ? [process.execPath, ['-e', LISTENER]]
      : asUser(user, process.execPath, ['-e', LISTENER]);
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  assert.ok(child.stdout);
  const lines: AsyncIterator<string> = createInterface({ input: child.stdout })[
    Symbol.asyncIterator
  ]();
  const nextLine = async (): Promise<string> => {
    const next = await lines.next();
    assert.ok(next.done !== true, 'the listener ended');
    return next.value;
  };
  const first = await nextLine();
  const port = Number(/^port (\d+)$/.exec(first)?.[1]);
  assert.ok(port > 0, first);
  return { port, nextLine, stop: () => child.kill('SIGKILL') };
}

// Sends REQUEST through the relay's socket; resolves with what came back once it closed.
function requestThrough(socketPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = connect(socketPath, () => client.write(REQUEST));
    let answer = '';
    client.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    client.on('error', reject);
    client.on('close', () => resolve(answer));
  });
}

describe('the relay to a port of the host', { skip: isRoot ? false : notRootReason }, () => {
  const users = useUsers('porttaker');
  const opened: (TcpRelay | Listener | Server)[] = [];
  after(async () => {
    for (const thing of opened) {
      if ('stop' in thing) thing.stop();
      else if ('listening' in thing) thing.close();
      else await thing.close();
    }
  });
  const ownUid = process.getuid?.() ?? -1;

  test("a port the user's own process listens on is relayed, with the peer check", async () => {
    const server = createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    });
    opened.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(typeof address === 'object' && address !== null);
    const socketPath = join(dir, 'own.sock');
    const relay = await startTcpRelay(socketPath, address.port, {
      checkPeer: createPeerCheck(address.port, ownUid, undefined),
    });
    opened.push(relay);
    assert.match(await requestThrough(socketPath), /^HTTP\/1\.1 200 OK[\s\S]*ok$/);
  });

  test('without the check, a port another user took gets the request (the control)', async () => {
    const taker = await startListener(users.porttaker);
    opened.push(taker);
    const socketPath = join(dir, 'unchecked.sock');
    const relay = await startTcpRelay(socketPath, taker.port);
    opened.push(relay);
    const answered = requestThrough(socketPath);
    assert.equal(await taker.nextLine(), 'connection');
    assert.equal(await taker.nextLine(), `data ${Buffer.byteLength(REQUEST)}`);
    relay.close().catch(() => undefined);
    assert.equal(await taker.nextLine(), `closed ${Buffer.byteLength(REQUEST)}`);
    await answered;
  });

  test('with the check, a port another user took gets a connection and not one byte', async () => {
    const taker = await startListener(users.porttaker);
    opened.push(taker);
    const socketPath = join(dir, 'checked.sock');
    const logged: LogEntry[] = [];
    const relay = await startTcpRelay(socketPath, taker.port, {
      checkPeer: createPeerCheck(taker.port, ownUid, (entry) => logged.push(entry)),
    });
    opened.push(relay);
    const answered = requestThrough(socketPath);
    assert.equal(await taker.nextLine(), 'connection');
    assert.equal(await taker.nextLine(), 'closed 0');
    assert.equal(await answered, '', 'the client gets no answer: its connection is closed');
    assert.equal(logged.length, 1);
    assert.ok(logged[0]);
    assert.equal(logged[0].level, 'error');
    assert.match(
      logged[0].message,
      new RegExp(`127\\.0\\.0\\.1:${taker.port}.*not yours \\(uid ${users.porttaker.uid}\\)`),
    );
  });
});
