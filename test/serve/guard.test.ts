// The connection guard and the headers timeout: connections that never prove themselves are
// let go (the oldest first when the places run out), while the owner's long polls, slow uploads
// and WebSockets outlive every one of those timeouts.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { serve, type ServeHandle } from '../../lib/index.js';
import { guardConnections } from '../../lib/serve/connection-guard.js';
import { cookieHeader, cookieJar, httpRequest } from '../helpers/http-client.js';
import { FAKE_R, writeRserverVariant } from '../helpers/rserver-double.js';
import { sendRaw } from '../helpers/raw-http.js';
import { makeTempDir } from '../helpers/temp.js';
import { closeWebSocket, nextMessage, openWebSocket } from '../helpers/ws-client.js';

// Opens a connection and resolves once the server has it (its 'connection' event fired).
async function openAccepted(server: Server, port: number): Promise<Socket> {
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await accepted;
  return socket;
}

describe('guardConnections on a bare server', () => {
  let server: Server;
  let port: number;
  before(async () => {
    server = createServer((_req, res) => res.end());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('at the cap the oldest unproven connection makes room; a trusted one is never touched', async () => {
    const guard = guardConnections(server, {
      maxUnauthenticated: 3,
      unauthenticatedTimeout: 60_000,
    });
    try {
      const serverSide: Socket[] = [];
      const onConnection = (socket: Socket) => serverSide.push(socket);
      server.on('connection', onConnection);
      const trusted = await openAccepted(server, port);
      const [trustedServerSide] = serverSide;
      assert.ok(trustedServerSide);
      guard.trust(trustedServerSide);
      const crowd = [
        await openAccepted(server, port),
        await openAccepted(server, port),
        await openAccepted(server, port),
      ];
      assert.equal(guard.unauthenticated, 3);
      const oldestClosed = once(crowd[0] as Socket, 'close');
      const newcomer = await openAccepted(server, port);
      await oldestClosed;
      assert.deepEqual(
        [trusted, ...crowd.slice(1), newcomer].map((s) => s.destroyed),
        [false, false, false, false],
      );
      assert.equal(guard.unauthenticated, 3);
      server.off('connection', onConnection);
      for (const socket of [trusted, ...crowd, newcomer]) socket.destroy();
    } finally {
      guard.close();
    }
  });

  test('an unproven connection is closed after the timeout', async () => {
    const guard = guardConnections(server, {
      maxUnauthenticated: 100,
      unauthenticatedTimeout: 200,
    });
    try {
      const openedAt = Date.now();
      const idle = await openAccepted(server, port);
      await once(idle, 'close');
      const lived = Date.now() - openedAt;
      assert.ok(lived >= 150 && lived < 1500, `closed after ${lived} ms`);
    } finally {
      guard.close();
    }
  });
});

describe('serve(): short timeouts for strangers, none for the owner', () => {
  let front: ServeHandle;
  let port: number;
  let headers: Record<string, string>;
  // At the suite's level: made inside a hook, its removal would be that hook's after.
  const root = makeTempDir('rsp-guard-');

  before(async () => {
    const rserver = await writeRserverVariant(root, { RSERVER_DOUBLE_LONG_POLL_MS: '1500' });
    front = await serve({
      rserver,
      r: FAKE_R,
      runtimeDir: root,
      env: { ...process.env, XDG_DATA_HOME: root },
      listen: { host: '127.0.0.1', port: 0 },
      prefix: '/rstudio/',
      unauthenticatedTimeout: 300,
      headersTimeout: 400,
    });
    port = 'port' in front.listener ? front.listener.port : 0;
    const token = { authorization: `token ${front.token ?? ''}` };
    const signIn = await httpRequest(
      { host: '127.0.0.1', port },
      { path: '/rstudio/auth-sign-in?appUri=%2F', headers: token, timeoutMs: 30_000 },
    );
    const jar = cookieJar(signIn.headers);
    headers = {
      ...token,
      cookie: cookieHeader(jar),
      'x-rs-csrf-token': jar.get('rs-csrf-token') ?? '',
    };
  });
  after(() => front.close());

  test('headers that never end get 408, on the owner’s own connection too', async () => {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      // Trusted by its first request, the connection then starts a second one and stalls.
      if (text.includes('\r\n\r\n{'))
        socket.write('GET /rstudio/ HTTP/1.1\r\nHost: localhost\r\nX-Slow: a');
    });
    socket.write(
      `GET /rstudio/_rsession-proxy/status HTTP/1.1\r\nHost: localhost\r\nAuthorization: token ${front.token ?? ''}\r\n\r\n`,
    );
    await once(socket, 'close');
    assert.match(text, /^HTTP\/1\.1 200 [^]*HTTP\/1\.1 408 Request Timeout\r\n/, text);
  });

  test('a WebSocket, a long poll and a slow upload outlive the timeouts of strangers', async () => {
    const ws = await openWebSocket(
      `ws://127.0.0.1:${port}/rstudio/p/0a1b/terminal/1/`,
      [],
      headers,
    );
    const longPoll = httpRequest(
      { host: '127.0.0.1', port },
      {
        method: 'POST',
        path: '/rstudio/events/get_events',
        headers,
        body: '{}',
        timeoutMs: 10_000,
      },
    );
    const body = new PassThrough();
    const upload = httpRequest(
      { host: '127.0.0.1', port },
      { method: 'POST', path: '/rstudio/upload', headers, body, timeoutMs: 10_000 },
    );
    let sent = 0;
    const drip = setInterval(() => {
      body.write('x'.repeat(100));
      sent += 100;
    }, 100);
    // A stranger's idle connection, opened at the same time, is let go first.
    const stranger = connect(port, '127.0.0.1');
    stranger.on('error', () => undefined);
    await once(stranger, 'close');
    // And so is one whose headers never end (the headers timeout).
    const slow = await sendRaw({ host: '127.0.0.1', port }, 'GET / HTTP/1.1\r\nX: ', 5000);
    assert.ok(slow.closed);
    ws.send('still here');
    assert.equal(await nextMessage(ws), 'still here');
    const poll = await longPoll;
    assert.equal(poll.status, 200, poll.body.toString());
    clearInterval(drip);
    body.end();
    const uploaded = await upload;
    assert.equal(uploaded.status, 200, uploaded.body.toString());
    assert.equal((JSON.parse(uploaded.body.toString()) as { bytes: number }).bytes, sent);
    await closeWebSocket(ws);
  });
});
