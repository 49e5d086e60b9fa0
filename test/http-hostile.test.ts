// Hostile HTTP against serve: request smuggling, oversized and malformed requests, absolute-form
// targets and foreign Host headers. None may confuse the proxy into reaching anything but this
// user's rserver, and none may crash it. The attacker here even has the token.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CliProcess, DOUBLE_FLAGS, getServeUrl, makeCliEnv } from './helpers/cli.js';
import { fetchText } from './helpers/fetch-text.js';
import { openWebSocket } from './helpers/ws-client.js';
import { httpRequest } from './helpers/http-client.js';
import { sendRaw, statusesOf as statuses } from './helpers/raw-http.js';
import { join } from 'node:path';

// Sends raw bytes and returns everything the server answered before closing (or `timeout`).
async function raw(port: number, bytes: string, timeout = 5000): Promise<string> {
  return (await sendRaw({ host: '127.0.0.1', port }, bytes, timeout)).text;
}

describe('hostile HTTP against serve', () => {
  const { root, env } = makeCliEnv();
  let serve: CliProcess;
  let port: number;
  let token: string;
  // Where a confused proxy would go: a server of the attacker's on loopback.
  let decoy: Server;
  let decoyPort: number;
  let decoyConnections = 0;

  before(async () => {
    decoy = createServer((socket) => {
      decoyConnections++;
      socket.destroy();
    });
    decoy.listen(0, '127.0.0.1');
    await once(decoy, 'listening');
    decoyPort = (decoy.address() as { port: number }).port;
    serve = new CliProcess(['serve', '--listen=127.0.0.1:0', ...DOUBLE_FLAGS], env);
    await serve.waitFor(/^ {2}http:\/\//);
    const url = getServeUrl(serve.stdout);
    assert.ok(url);
    port = Number(url.port);
    token = url.searchParams.get('token') ?? '';
    // rserver running, so a confused proxy has somewhere else to go than a 503.
    assert.equal(
      (
        await fetchText(`http://127.0.0.1:${port}/`, {
          headers: { authorization: `token ${token}` },
        })
      ).status,
      302,
    );
  });
  after(async () => {
    decoy.close();
    assert.equal((await serve.stop()).code, 0, serve.stderr);
  });

  const auth = () => `Authorization: token ${token}\r\n`;
  const cases: [string, () => string, (s: number[]) => boolean][] = [
    [
      'Content-Length and Transfer-Encoding together (CL.TE smuggling)',
      () =>
        `POST /rpc/x HTTP/1.1\r\nHost: localhost\r\n${auth()}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n`,
      (s) => s.length === 1 && s[0] === 400,
    ],
    [
      'two different Content-Lengths',
      () =>
        `POST /upload HTTP/1.1\r\nHost: localhost\r\n${auth()}Content-Length: 4\r\nContent-Length: 40\r\n\r\nabcd`,
      (s) => s.length === 1 && s[0] === 400,
    ],
    [
      'an obfuscated Transfer-Encoding',
      () =>
        `POST /upload HTTP/1.1\r\nHost: localhost\r\n${auth()}Transfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\nabcd`,
      (s) => s.every((x) => x === 400 || x === 501),
    ],
    [
      'oversized headers',
      () => `GET / HTTP/1.1\r\nHost: localhost\r\n${auth()}X-Big: ${'a'.repeat(70_000)}\r\n\r\n`,
      (s) => s[0] === 431,
    ],
    [
      'a malformed request line',
      () => `GET /\x01 HTTP/1.1 extra\r\nHost: localhost\r\n\r\n`,
      (s) => s[0] === 400,
    ],
    [
      'garbage instead of HTTP',
      () => `\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n`,
      (s) => s.length <= 1 && (s[0] ?? 400) === 400,
    ],
    [
      'an absolute-form target naming another server',
      () =>
        `GET http://127.0.0.1:${decoyPort}/ HTTP/1.1\r\nHost: 127.0.0.1:${decoyPort}\r\n${auth()}\r\n`,
      (s) => s[0] === 400 || s[0] === 403,
    ],
    [
      'an absolute-form target with an allowed Host',
      () => `GET http://127.0.0.1:${decoyPort}/ HTTP/1.1\r\nHost: localhost\r\n${auth()}\r\n`,
      (s) => s[0] === 400,
    ],
    [
      'a Host header pointing elsewhere',
      () => `GET / HTTP/1.1\r\nHost: 127.0.0.1:${decoyPort}.attacker.example\r\n${auth()}\r\n`,
      (s) => s[0] === 403,
    ],
    [
      'an authority-form CONNECT',
      () =>
        `CONNECT 127.0.0.1:${decoyPort} HTTP/1.1\r\nHost: 127.0.0.1:${decoyPort}\r\n${auth()}\r\n`,
      (s) => s.length === 0 || s.every((x) => x >= 400),
    ],
  ];

  for (const [name, request, ok] of cases) {
    test(name, async () => {
      const answer = await raw(port, request(), 2000);
      assert.ok(ok(statuses(answer)), `${name}: ${answer.slice(0, 300)}`);
      assert.equal(decoyConnections, 0, 'nothing reached another server');
      const health = await fetchText(`http://127.0.0.1:${port}/_rsession-proxy/health`);
      assert.equal(health.status, 200, 'the proxy is still up');
    });
  }

  test('a path that climbs out of the prefix reaches rserver only, as a path', async () => {
    const answer = await raw(
      port,
      `GET /../../etc/passwd HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${auth()}\r\n`,
    );
    assert.ok(statuses(answer).length === 1, answer);
    assert.doesNotMatch(answer, /root:x:0:0/);
    assert.equal(decoyConnections, 0);
  });

  test('a Host pointing elsewhere on a WebSocket upgrade, on TCP and on a Unix listener', async () => {
    await assert.rejects(
      openWebSocket(`ws://127.0.0.1:${port}/p/ab/`, [], {
        host: 'attacker.example',
        authorization: `token ${token}`,
      }),
      { status: 403 },
    );
    const unix = new CliProcess(['serve', '--instance=unix', '--no-token', ...DOUBLE_FLAGS], env);
    try {
      await unix.waitFor(/rserver starts on the first request/);
      const socketPath = join(root, 'rt', 'unix', 'proxy.sock');
      const upgrade = (host: string) =>
        httpRequest(
          { socketPath },
          {
            path: '/p/ab/terminal/1/',
            headers: {
              host,
              upgrade: 'websocket',
              connection: 'Upgrade',
              'sec-websocket-version': '13',
              'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
            },
          },
        ).catch((error: unknown) => ({ status: String(error) }));
      assert.equal((await upgrade('attacker.example')).status, 403);
      assert.equal(
        (
          await httpRequest(
            { socketPath },
            { path: '/', headers: { host: 'attacker.example:8787' } },
          )
        ).status,
        403,
      );
      assert.equal(
        (await httpRequest({ socketPath }, { path: '/', headers: { host: 'localhost:8787' } }))
          .status,
        302,
      );
    } finally {
      assert.equal((await unix.stop()).code, 0);
    }
    const ok = await openWebSocket(`ws://127.0.0.1:${port}/p/ab/`, [], {
      authorization: `token ${token}`,
    }).catch((e: unknown) => (e as { status?: number }).status);
    // Without rserver's sign-in cookie the double refuses: the proxy did forward it there.
    assert.equal(ok, 401);
    assert.equal(decoyConnections, 0);
  });
});
