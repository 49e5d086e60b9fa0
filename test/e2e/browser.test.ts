// A real browser through the real command: Debian's Chromium, driven by playwright-core, opens
// the URL the demo (`rsession-proxy serve --demo`, what `npm start` runs without RStudio Server)
// printed and must end up on the rserver double's page, signed in, with its WebSocket echoing
// through the proxy, its R console answering through /rpc/eval (real R: CI installs it), and the
// token gone from the address bar. The screenshot of that page is the one in the README
// (RSESSION_PROXY_UPDATE_SCREENSHOT=1 writes it to docs/).
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { WebSocket as PageWebSocket } from 'playwright-core';
import { CHROMIUM, chromiumMissing, chromiumSkip, launchChromium } from '../helpers/chromium.js';
import { makeCliEnv, startCli } from '../helpers/cli.js';
import { findSocketsAndLocks, markedPids } from '../helpers/leftovers.js';
import { skipIfRanOnce } from '../helpers/once.js';
import { findRealR } from '../helpers/rserver-double.js';
import { makeTempDir } from '../helpers/temp.js';
import { IDE_PAGE_TITLE } from '../fixtures/rserver/ide-page.js';

const SCREENSHOT = fileURLToPath(new URL('../../../docs/screenshot.png', import.meta.url));

test(
  'Chromium signs in to the demo through serve: WebSocket, R console and the path it took',
  { skip: skipIfRanOnce || chromiumSkip },
  async () => {
    assert.ok(
      !chromiumMissing,
      `Chromium not found at ${CHROMIUM}: install the Debian package chromium (.ci/run does) or set RSESSION_PROXY_CHROMIUM`,
    );
    const realR = findRealR();
    assert.ok(realR !== undefined || process.env.CI !== 'true', 'CI installs R (r-base-core)');
    const { env, runtimeDir } = makeCliEnv();
    const cli = await startCli(['serve', '--demo', '--prefix=/rstudio/'], env);
    assert.ok(cli.token, `serve printed no token: ${cli.url.href}`);
    assert.match(cli.url.origin, /^http:\/\/127\.0\.0\.1:\d+$/, 'the demo listens on 127.0.0.1');

    const context = await launchChromium({ width: 900, height: 760 });
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

      assert.equal(await page.title(), IDE_PAGE_TITLE);
      assert.equal(await page.locator('#user').textContent(), userInfo().username);
      // The R console's first evaluation: real R's version, or the stand-in saying what it is.
      const output = page.locator('#r-output');
      await page.waitForFunction(
        "!['', '…'].includes(document.querySelector('#r-output').textContent)",
        undefined,
        { timeout: 30_000 },
      );
      if (realR) assert.match((await output.textContent()) ?? '', /^\[1\] "R version \d/);
      else assert.match((await output.textContent()) ?? '', /stand-in/);
      // The WebSocket stays live: round trips after the first echo.
      await page.locator('#ws-state', { hasText: /round trip/ }).waitFor({ timeout: 10_000 });
      // The path the page took, as rserver saw it.
      assert.equal(await page.locator('#token-gone').getAttribute('class'), 'ok');
      const path = (await page.locator('ol').textContent()) ?? '';
      assert.match(path, /none of the front’s cookies reached rserver/);
      assert.match(path, /no Authorization header/);
      assert.equal(
        await page.locator('#listener').textContent(),
        join(runtimeDir, 'demo', 'rserver.sock'),
      );
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
      assert.equal(socket.sent[0], 'hello');
      assert.ok(
        socket.sent.slice(1).every((text, i) => text === `tick ${i + 1}`) &&
          socket.received.includes('tick 1'),
        `live round trips after the first echo: ${JSON.stringify(socket)}`,
      );

      const cookies = await context.cookies(`${cli.origin}/rstudio/`);
      // Named for the listener's port: another serve on another port never overwrites it.
      const tokenCookie = cookies.find((c) => c.name === `rsession-proxy-demo-${cli.url.port}`);
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
      await page.screenshot({ path: shot, fullPage: true });
      if (process.env.RSESSION_PROXY_UPDATE_SCREENSHOT === '1') copyFileSync(shot, SCREENSHOT);
    } finally {
      await context.close();
    }

    const ended = await cli.stop();
    assert.deepEqual(ended, { code: 0, signal: null }, cli.stderr());
    assert.deepEqual(markedPids(join(runtimeDir, 'demo')), []);
    assert.deepEqual(findSocketsAndLocks(runtimeDir), []);
  },
);
