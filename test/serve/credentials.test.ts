// The token and the front's cookie stay with the front (issue #11): an app in the session (the
// double's /p/<hex>/echo, and the handshake echo of its WebSockets) sees what rserver is given,
// which never includes them; rserver's own cookies pass unchanged. The cookie is of this run:
// a new serve with the same token and listener does not take it.
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { browse } from '../helpers/browser.js';
import { makeCliEnv, serveDoubleArgs, startCli, type RunningCli } from '../helpers/cli.js';
import { fetchText } from '../helpers/fetch-text.js';
import { cookieHeader, httpRequest } from '../helpers/http-client.js';

interface Echo {
  url: string;
  headers: IncomingHttpHeaders;
}

// The double's echo of a WebSocket handshake: what the app behind rserver was sent.
function upgradeEcho(url: string, headers: Record<string, string>): Promise<Echo> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, handshakeTimeout: 5000 });
    ws.once('upgrade', (res) => {
      const echo = String(res.headers['x-request-echo'] ?? '');
      ws.terminate();
      resolve(JSON.parse(Buffer.from(echo, 'base64').toString()) as Echo);
    });
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('what rserver receives through serve', () => {
  const { env } = makeCliEnv();
  let cli: RunningCli;
  let token: string;
  let jar: Map<string, string>;
  let frontCookie: string;

  before(async () => {
    cli = await startCli(serveDoubleArgs(), env);
    token = cli.token ?? '';
    ({ jar } = await browse(cli.url.href));
    const name = `rsession-proxy-default-${cli.url.port}`;
    frontCookie = jar.get(name) ?? '';
    assert.ok(frontCookie, `the front's cookie ${name}: ${JSON.stringify([...jar])}`);
    assert.ok(jar.has('user-id'), 'signed in to rserver');
  });
  after(async () => {
    assert.equal((await cli.stop()).code, 0, cli.stderr());
  });

  test('a request with the cookie: rserver gets its own cookies, not the front’s', async () => {
    const answer = await fetchText(`${cli.origin}/rstudio/p/0a1b/echo`, {
      headers: { cookie: `${cookieHeader(jar)}; other=kept` },
    });
    assert.equal(answer.status, 200, answer.body);
    const echo = JSON.parse(answer.body) as Echo;
    assert.doesNotMatch(echo.headers.cookie ?? '', /rsession-proxy-/);
    assert.match(echo.headers.cookie ?? '', /user-id=/);
    assert.match(echo.headers.cookie ?? '', /other=kept$/);
    assert.ok(!answer.body.includes(frontCookie), 'the cookie value went nowhere');
  });

  test('Authorization and ?token= on a POST are removed, the rest of the query kept', async () => {
    const answer = await fetchText(`${cli.origin}/rstudio/p/0a1b/echo?a=1&token=${token}&b=2`, {
      method: 'POST',
      headers: { cookie: cookieHeader(new Map([...jar].filter(([n]) => n === 'user-id'))) },
    });
    assert.equal(answer.status, 200, answer.body);
    const echo = JSON.parse(answer.body) as Echo;
    assert.equal(echo.url, '/p/0a1b/echo?a=1&b=2');
    assert.ok(!answer.body.includes(token), 'rserver never saw the token');
    const withHeader = await fetchText(`${cli.origin}/rstudio/p/0a1b/echo`, {
      headers: {
        authorization: `token ${token}`,
        cookie: cookieHeader(new Map([...jar].filter(([n]) => !n.startsWith('rsession-proxy-')))),
      },
    });
    assert.equal(withHeader.status, 200, withHeader.body);
    const echoed = JSON.parse(withHeader.body) as Echo;
    assert.equal(echoed.headers.authorization, undefined);
    assert.ok(!withHeader.body.includes(token));
  });

  test('a WebSocket with ?token= and the cookie: neither reaches rserver', async () => {
    const port = cli.url.port;
    const echo = await upgradeEcho(
      `ws://127.0.0.1:${port}/rstudio/p/0a1b/terminal/1/?token=${encodeURIComponent(token)}&y=2`,
      { cookie: cookieHeader(jar), authorization: `token ${token}` },
    );
    assert.equal(echo.url, '/p/0a1b/terminal/1/?y=2');
    assert.equal(echo.headers.authorization, undefined);
    assert.doesNotMatch(echo.headers.cookie ?? '', /rsession-proxy-/);
    assert.match(echo.headers.cookie ?? '', /user-id=/);
    assert.ok(!JSON.stringify(echo).includes(token) && !JSON.stringify(echo).includes(frontCookie));
  });
});

describe('the cookie dies with the serve that issued it', () => {
  const { env } = makeCliEnv({ RSESSION_PROXY_TOKEN: 'a-fixed-token-of-the-users-own-4u9Qz' });

  test('a new serve on the same listener with the same token refuses the old cookie', async () => {
    const args = ['serve', ...serveDoubleArgs().slice(1, 3), '--prefix=/rstudio/'];
    const socketPath = () => `${env.RSESSION_PROXY_RUNTIME_DIR ?? ''}/default/proxy.sock`;
    const get = (cookie: string) =>
      httpRequest(
        { socketPath: socketPath() },
        { path: '/rstudio/_rsession-proxy/status', headers: { host: 'localhost:8787', cookie } },
      );
    let cookie = '';
    for (const run of [1, 2]) {
      const cli = await startCli(args, env);
      try {
        if (run === 2) {
          assert.equal((await get(cookie)).status, 401, 'the cookie of the first run');
        }
        const signIn = await httpRequest(
          { socketPath: socketPath() },
          {
            path: `/rstudio/?token=${cli.token ?? ''}`,
            headers: { host: 'localhost:8787' },
          },
        );
        assert.equal(signIn.status, 302);
        cookie = (signIn.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
        assert.match(cookie, /^rsession-proxy-default-[0-9a-f]{12}=/);
        assert.equal((await get(cookie)).status, 200, 'this run’s cookie');
        // The ssh tunnel's end: the browser's own POSTs say Origin http://localhost:8787.
        const post = (origin: string) =>
          httpRequest(
            { socketPath: socketPath() },
            {
              method: 'POST',
              path: '/rstudio/_rsession-proxy/status',
              headers: { host: 'localhost:8787', cookie, origin },
            },
          );
        assert.equal((await post('http://localhost:8787')).status, 200);
        assert.equal((await post('http://localhost:8788')).status, 403);
      } finally {
        assert.equal((await cli.stop()).code, 0);
      }
    }
  });
});
