// A real browser through the real command: Debian's Chromium, driven by playwright-core, opens
// the URL `rsession-proxy serve` printed and must end up in RStudio (the rserver double), signed
// in, with the page's WebSocket echoing through the proxy and the token gone from the address
// bar. The screenshot of that page is the one in the README.
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { WebSocket as PageWebSocket } from 'playwright-core';
import { CHROMIUM, chromiumMissing, chromiumSkip, launchChromium } from '../helpers/chromium.js';
import { makeCliEnv, serveDoubleArgs, startCli } from '../helpers/cli.js';
import { findSocketsAndLocks, markedPids } from '../helpers/leftovers.js';
import { skipIfRanOnce } from '../helpers/once.js';
import { makeTempDir } from '../helpers/temp.js';

const SCREENSHOT = fileURLToPath(new URL('../../../docs/screenshot.png', import.meta.url));

test(
  'Chromium signs in to RStudio through serve, and its WebSocket echoes',
  { skip: skipIfRanOnce || chromiumSkip },
  async () => {
    assert.ok(
      !chromiumMissing,
      `Chromium not found at ${CHROMIUM}: install the Debian package chromium (.ci/run does) or set RSESSION_PROXY_CHROMIUM`,
    );
    const { env, runtimeDir } = makeCliEnv();
    const cli = await startCli(serveDoubleArgs({ prefix: '/rstudio/' }), env);
    assert.ok(cli.token, `serve printed no token: ${cli.url.href}`);

    const context = await launchChromium();
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const requests: string[] = [];
      const documents: { url: string; status: number }[] = [];
      page.on('request', (request) => requests.push(request.url()));
      page.on('response', (response) => {
        if (response.request().isNavigationRequest())
          documents.push({ url: response.url(), status: response.status() });
      });
      const sockets: { url: string; sent: string[]; received: string[] }[] = [];
      page.on('websocket', (ws: PageWebSocket) => {
        const record = { url: ws.url(), sent: [] as string[], received: [] as string[] };
        sockets.push(record);
        ws.on('framesent', ({ payload }) => record.sent.push(String(payload)));
        ws.on('framereceived', ({ payload }) => record.received.push(String(payload)));
      });

      await page.goto(cli.url.href, { waitUntil: 'domcontentloaded', timeout: 30_000 });
      // rserver starts on this first visit: the browser sees "Starting RStudio…", which reloads
      // itself until RStudio answers and signs the browser in. The page writes the echo of its
      // WebSocket into #ws-echo.
      await page.locator('#ws-echo', { hasText: 'hello' }).waitFor({ timeout: 45_000 });

      assert.equal(await page.title(), 'RStudio');
      assert.equal(await page.locator('#user').textContent(), userInfo().username);
      assert.equal(page.url(), `${cli.origin}/rstudio/`, 'the token left the address bar');
      assert.deepEqual(documents[0], { url: cli.url.href, status: 302 });
      assert.deepEqual(
        documents[1],
        { url: `${cli.origin}/rstudio/`, status: 503 },
        'the first page load showed "Starting RStudio…" while rserver started',
      );
      assert.ok(
        requests.slice(1).every((url) => !url.includes('token=')),
        `only the first request carries the token: ${requests.join(' ')}`,
      );
      assert.ok(
        documents.some((d) => /\/rstudio\/auth-sign-in\?appUri=/.test(d.url) && d.status === 302),
        `the browser went through rserver's sign-in: ${JSON.stringify(documents)}`,
      );
      assert.deepEqual(documents.at(-1), { url: `${cli.origin}/rstudio/`, status: 200 });

      const socket = sockets.find((s) => s.received.includes('hello'));
      assert.ok(socket, `a WebSocket echoed: ${JSON.stringify(sockets)}`);
      assert.match(
        socket.url,
        new RegExp(`^ws://127\\.0\\.0\\.1:${cli.url.port}/rstudio/p/[0-9a-f]+/terminal/1/$`),
      );
      assert.deepEqual(socket.sent, ['hello']);

      const cookies = await context.cookies(`${cli.origin}/rstudio/`);
      // Named for the listener's port: another serve on another port never overwrites it.
      const tokenCookie = cookies.find((c) => c.name === `rsession-proxy-default-${cli.url.port}`);
      assert.ok(tokenCookie, `the proxy's cookie: ${JSON.stringify(cookies)}`);
      assert.equal(tokenCookie.httpOnly, true);
      assert.equal(tokenCookie.sameSite, 'Strict');
      assert.equal(tokenCookie.path, '/rstudio/');
      assert.notEqual(tokenCookie.value, cli.token, 'the cookie is not the token itself');
      assert.ok(
        cookies.some((c) => c.name === 'user-id' && c.path === '/rstudio'),
        `rserver's sign-in cookie, scoped to the prefix: ${JSON.stringify(cookies)}`,
      );

      // The screenshot in docs/ is refreshed on request only, so a test run leaves the tree clean.
      const shot = join(makeTempDir('rsp-shot-'), 'screenshot.png');
      await page.screenshot({ path: shot });
      if (process.env.RSESSION_PROXY_UPDATE_SCREENSHOT === '1') copyFileSync(shot, SCREENSHOT);
    } finally {
      await context.close();
    }

    const ended = await cli.stop();
    assert.deepEqual(ended, { code: 0, signal: null }, cli.stderr());
    assert.deepEqual(markedPids(join(runtimeDir, 'default')), []);
    assert.deepEqual(findSocketsAndLocks(runtimeDir), []);
  },
);
