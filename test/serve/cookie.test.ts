import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createFrontCookie,
  formatFrontCookie,
  getCookieValues,
  removeFrontCookies,
} from '../../lib/serve/cookie.js';

test('the cookie is named for its listener and random for each run', () => {
  const tcp = createFrontCookie('default', { host: '127.0.0.1', port: 8787 }, '/rstudio/');
  assert.equal(tcp.name, 'rsession-proxy-default-8787');
  const again = createFrontCookie('default', { host: '127.0.0.1', port: 8787 }, '/rstudio/');
  assert.notEqual(again.value, tcp.value, 'a new run, a new value');
  assert.equal(Buffer.from(tcp.value, 'base64url').length, 32);
  const mine = createFrontCookie('default', { path: '/run/user/1000/rsp/default/proxy.sock' }, '/');
  const theirs = createFrontCookie(
    'default',
    { path: '/run/user/1001/rsp/default/proxy.sock' },
    '/',
  );
  assert.match(mine.name, /^rsession-proxy-default-[0-9a-f]{12}$/);
  assert.notEqual(mine.name, theirs.name, 'two users’ sockets, two names');
  assert.equal(
    formatFrontCookie(tcp, false),
    `rsession-proxy-default-8787=${tcp.value}; Path=/rstudio/; HttpOnly; SameSite=Strict`,
  );
  assert.equal(
    formatFrontCookie(tcp, true),
    `rsession-proxy-default-8787=${tcp.value}; Path=/rstudio/; HttpOnly; SameSite=Strict; Secure`,
    'a browser that came over https gets a Secure cookie',
  );
});

test('reading and removing the front’s cookies leaves every other one as sent', () => {
  const cases: [string | undefined, string | undefined][] = [
    [undefined, undefined],
    ['user-id=a|b%20c; rs-csrf-token=x', 'user-id=a|b%20c; rs-csrf-token=x'],
    ['rsession-proxy-default-8787=v', undefined],
    ['a=1; rsession-proxy-default-8787=v; b=2', 'a=1; b=2'],
    ['rsession-proxy-x=1;rsession-proxy-y=2;c=3', 'c=3'],
    ['a=rsession-proxy-not-a-name; b', 'a=rsession-proxy-not-a-name; b'],
    [';;; ;', ';;; ;'],
  ];
  for (const [header, kept] of cases) assert.equal(removeFrontCookies(header), kept, header);
  assert.deepEqual(getCookieValues('x=1; n=a; n = b ;n=', 'n'), ['a', 'b', '']);
  assert.deepEqual(getCookieValues(undefined, 'n'), []);
});
