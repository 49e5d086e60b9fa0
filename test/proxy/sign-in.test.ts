// The adapter signs the browser in on the user's behalf when rserver runs with a password nobody
// types (an rserver without --www-socket), and again whenever rserver sends it to its sign-in
// page; the adapter API is unchanged (the Backend's optional signIn).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createSupervisor } from '../../lib/index.js';
import { getSignedInTarget, isSignInRedirect } from '../../lib/proxy/sign-in.js';
import { browse } from '../helpers/browser.js';
import { fetchText } from '../helpers/fetch-text.js';
import { closeFront, startFront } from '../helpers/front.js';
import { cookieHeader } from '../helpers/http-client.js';
import { makeLaunchEnv } from '../helpers/launch-env.js';
import { writeRserverVariant } from '../helpers/rserver-double.js';

describe('isSignInRedirect', () => {
  const cases: [number, string | undefined, boolean][] = [
    [302, 'http://h/rstudio/auth-sign-in?appUri=%2F', true],
    [302, 'https://h:8443/auth-sign-in', true],
    [302, '/auth-sign-in?error=1', true],
    [302, 'http://h/rstudio/', false],
    [302, 'http://h/auth-sign-in-x', false],
    [200, 'http://h/auth-sign-in', false],
    [302, undefined, false],
    [302, 'http://[bad', false],
  ];
  for (const [status, location, expected] of cases) {
    test(`${status} ${String(location)} → ${expected}`, () =>
      assert.equal(isSignInRedirect(status, location), expected));
  }
});

describe('getSignedInTarget', () => {
  // [what rserver got, the target, where a browser at /rstudio<what rserver got> then goes]
  const cases: [string, string, string][] = [
    ['/files?x=1', './files?x=1', '/rstudio/files?x=1'],
    ['/', './', '/rstudio/'],
    ['/p/1a/terminal/?a=b', '../../../p/1a/terminal/?a=b', '/rstudio/p/1a/terminal/?a=b'],
    ['/auth-sign-in?appUri=%2Fp%2F1a%2F', './p/1a/', '/rstudio/p/1a/'],
    ['/auth-sign-in', './', '/rstudio/'],
    ['/auth-sign-in?appUri=%2F%2Fevil.example', './', '/rstudio/'],
    ['/auth-sign-in?appUri=https%3A%2F%2Fevil.example', './', '/rstudio/'],
    ['/auth-sign-in?appUri=%2F%5Cevil', './', '/rstudio/'],
    ['/auth-sign-in?appUri=%2Fa%0D%0ASet-Cookie%3A%20x', './', '/rstudio/'],
    ['//evil.example/auth-sign-in?appUri=%2Fx', '../../x', '/rstudio/x'],
  ];
  for (const [backendPath, expected, followed] of cases) {
    test(`${backendPath} → ${expected}`, () => {
      const target = getSignedInTarget(backendPath);
      assert.equal(target, expected);
      // A proxy in front may have removed any prefix: the browser resolves it against its URL.
      const url = new URL(target, `http://h/rstudio${backendPath}`);
      assert.equal(url.origin, 'http://h');
      assert.equal(`${url.pathname}${url.search}`, followed);
    });
  }
});

describe('the adapter signing in at an rserver without --www-socket', () => {
  // rserver's user-id cookie carries its expiry to the second, so a sign-in within the second of
  // the sign-out would get the very cookie the sign-out revoked: the agent signs in again then.
  test('no password typed, cookies for the prefix, signed in again after a sign-out', async () => {
    const { root, options } = makeLaunchEnv();
    const rserver = await writeRserverVariant(root, { RSERVER_DOUBLE_RELEASE: '2024.04.2+764' });
    const supervisor = createSupervisor({ ...options, rserver, instance: 'sign-in' });
    const front = await startFront({ backend: supervisor, prefix: '/rstudio' });
    after(async () => {
      await closeFront(front);
      await supervisor.close();
    });
    const { visits, jar, setCookies } = await browse(`${front.origin}/rstudio/`);
    assert.equal(supervisor.status.isolation?.level, 'namespace');
    assert.equal(
      visits.at(-1)?.answer.status,
      200,
      JSON.stringify(visits.map((v) => [v.url, v.answer.status])),
    );
    const first = visits[0]?.answer;
    assert.equal(first?.status, 302);
    assert.equal(first.headers.location, './');
    assert.equal(visits[1]?.url, `${front.origin}/rstudio/`);
    assert.ok(
      setCookies.some((line) => /^user-id=[^;]+;.*path=\/rstudio/i.test(line)),
      setCookies.join('\n'),
    );
    const instanceDir = join(options.env.RSESSION_PROXY_RUNTIME_DIR ?? '', 'sign-in');
    const password = readFileSync(join(instanceDir, 'password'), 'utf8');
    for (const visit of visits) {
      assert.ok(
        !JSON.stringify(visit.answer).includes(password),
        'the password reaches no browser',
      );
    }

    // An RPC with the CSRF header, as the IDE sends it.
    const rpc = await fetchText(`${front.origin}/rstudio/rpc/get_state`, {
      method: 'POST',
      headers: {
        cookie: cookieHeader(jar),
        'x-rs-csrf-token': jar.get('rs-csrf-token') ?? '',
        'content-type': 'application/json',
      },
      body: '{"method":"get_state","params":[]}',
    });
    assert.equal(rpc.status, 200, rpc.body);

    // rserver signs the browser out and sends it to its sign-in page: signed in again.
    const out = await fetchText(`${front.origin}/rstudio/auth-sign-out`, {
      method: 'POST',
      headers: {
        cookie: cookieHeader(jar),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ 'rs-csrf-token': jar.get('rs-csrf-token') ?? '' }).toString(),
    });
    assert.equal(out.status, 302, out.body);
    const location = out.headers.location ?? '';
    assert.match(location, /\/rstudio\/auth-sign-in/);
    const again = await browse(new URL(location, front.origin).href, {}, jar);
    assert.equal(again.visits.at(-1)?.answer.status, 200);
    assert.equal(again.visits.at(-1)?.url, `${front.origin}/rstudio/`);
  });
});
