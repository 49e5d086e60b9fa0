// Issue #11, the cookie: the owner's real browser (Chromium), lured by another real user of the
// host to the attacker's own serve (same instance name, another port) and to the attacker's
// pages on another loopback port. Browsers keep cookies apart by host, not by port, and
// 127.0.0.1:<any port> is the same site, so SameSite=Strict lets them through: the attacker's
// serve could overwrite the owner's cookie, the attacker's server receives it, and the
// attacker's pages could POST and open WebSockets with it. Now the cookies have different
// names, a foreign Origin gets 403, and a stolen cookie is worthless once that serve stops.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { fixturePath, makeUserEnv, sendRawAs, startServeAs } from '../helpers/as-user.js';
import { chromiumSkip, launchChromium } from '../helpers/chromium.js';
import { CliProcess, serveDoubleArgs, type RunningCli } from '../helpers/cli.js';
import { skipIfRanOnce } from '../helpers/once.js';
import { statusesOf } from '../helpers/raw-http.js';
import { makeTempDir } from '../helpers/temp.js';
import { execAsUser, isRoot, notRootReason, useUsers } from '../helpers/users.js';

// A browser test: run once per CI run, like test/e2e/browser.test.ts.
const skip = isRoot ? skipIfRanOnce || chromiumSkip : notRootReason;

describe('another user’s serve and pages against the owner’s browser', { skip }, () => {
  const running: (RunningCli | CliProcess)[] = [];
  after(async () => {
    for (const process of running) await process.stop();
  });
  const users = useUsers('victim', 'attacker');
  const victimRoot = makeTempDir('rsp-victim-');
  const attackerRoot = makeTempDir('rsp-attacker-');

  test('no overwrite, no cross-origin POST or WebSocket, no use of a stolen cookie later', async () => {
    const victimEnv = makeUserEnv(users.victim, victimRoot);
    const victim = await startServeAs(users.victim, serveDoubleArgs(), victimEnv);
    running.push(victim);
    const theirs = await startServeAs(
      users.attacker,
      serveDoubleArgs(),
      makeUserEnv(users.attacker, attackerRoot),
    );
    running.push(theirs);
    const site = new CliProcess(
      [],
      process.env,
      execAsUser(users.attacker, process.execPath, [fixturePath('evil-site.js'), victim.origin]),
    );
    running.push(site);
    const siteOrigin = `http://127.0.0.1:${/listening (\d+)/.exec(await site.waitFor(/^listening \d+/))?.[1] ?? ''}`;
    const ownCookie = `rsession-proxy-default-${victim.url.port}`;

    const context = await launchChromium();
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const signedIn = async (cli: RunningCli, user: string) => {
        await page.goto(cli.url.href, { waitUntil: 'domcontentloaded', timeout: 30_000 });
        await page.locator('#ws-echo', { hasText: 'hello' }).waitFor({ timeout: 45_000 });
        assert.equal(await page.locator('#user').textContent(), user);
      };
      await signedIn(victim, users.victim.name);

      // The attacker's serve, same instance name: its cookie lands beside the owner's.
      await signedIn(theirs, users.attacker.name);
      const names = (await context.cookies(`${victim.origin}/rstudio/`)).map((c) => c.name);
      assert.ok(names.includes(ownCookie), names.join(' '));
      assert.ok(names.includes(`rsession-proxy-default-${theirs.url.port}`), names.join(' '));
      const back = await page.goto(`${victim.origin}/rstudio/`, { timeout: 30_000 });
      assert.equal(back?.status(), 200, 'the owner is still signed in to their own RStudio');
      assert.equal(await page.locator('#user').textContent(), users.victim.name);

      // The attacker's page POSTs a form to the owner's RStudio, cookies and all (its own URL:
      // the owner's IDE page, still unloading, may POST an RPC of its own meanwhile).
      const [posted] = await Promise.all([
        page.waitForResponse(
          (r) =>
            r.url() === `${victim.origin}/rstudio/p/0a1b/echo` && r.request().method() === 'POST',
        ),
        page.goto(`${siteOrigin}/csrf`),
      ]);
      assert.equal(posted.status(), 403);
      assert.match(await posted.text(), /Cross-origin request refused/);
      assert.match((await posted.request().allHeaders()).cookie ?? '', new RegExp(ownCookie));

      // And opens a WebSocket to it.
      await page.goto(`${siteOrigin}/ws`);
      await page.waitForFunction("document.title !== 'ws-pending'", undefined, {
        timeout: 10_000,
      });
      assert.match(await page.title(), /^ws-refused/);

      // The attacker's server got the owner's cookie (nothing on the host can stop that)...
      await page.goto(`${siteOrigin}/rstudio/steal`);
      const stolen = site.stdout
        .split('\n')
        .filter((line) => line.includes('/rstudio/steal'))
        .map((line) => (JSON.parse(line) as { cookie: string }).cookie)
        .join('; ');
      const value = new RegExp(`${ownCookie}=([^;]+)`).exec(stolen)?.[1];
      assert.ok(value, `the cookie reached the attacker: ${stolen}`);

      // ...which is worthless once the owner's serve has stopped: a new one does not take it,
      // under its own name or the old one.
      assert.equal((await victim.stop()).code, 0);
      const next = await startServeAs(users.victim, serveDoubleArgs(), victimEnv);
      running.push(next);
      const port = Number(next.url.port);
      for (const name of [`rsession-proxy-default-${port}`, ownCookie]) {
        const replay = await sendRawAs(
          users.attacker,
          { host: '127.0.0.1', port },
          `GET /rstudio/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: ${name}=${value}\r\n\r\n`,
        );
        assert.deepEqual(statusesOf(replay.text), [401], replay.text);
      }
      await signedIn(next, users.victim.name);
    } finally {
      await context.close();
    }
  });
});
