import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildSignInForm, judgeSignInAnswer } from '../../lib/rserver/sign-in.js';

describe('buildSignInForm', () => {
  test('the form of 1.4 and later, the token under both names in field and cookie', () => {
    const { body, cookie } = buildSignInForm({ username: 'alice', password: 'p&=+ x' }, 'abc');
    const form = new URLSearchParams(body);
    assert.equal(form.get('username'), 'alice');
    assert.equal(form.get('password'), 'p&=+ x');
    assert.equal(form.get('staySignedIn'), '1');
    assert.equal(form.get('appUri'), '/');
    assert.equal(form.get('rs-csrf-token'), 'abc');
    assert.equal(form.get('csrf-token'), 'abc');
    assert.equal(cookie, 'rs-csrf-token=abc; csrf-token=abc');
  });
});

describe('judgeSignInAnswer', () => {
  const cookies = ['user-id=alice|x|y; path=/; HttpOnly', 'csrf-token=abc; path=/'];
  const cases: [string, number, string | undefined, string[], string, RegExp | undefined][] = [
    ['a redirect to appUri with user-id', 302, 'http://h/', cookies, '', undefined],
    ['JSON from a 2026 build', 200, undefined, cookies, '{"status":"ok"}', undefined],
    ['a wrong password', 302, 'http://h/auth-sign-in?appUri=%2F&error=1', [], '', /password wrong/],
    ['a bad token', 302, 'http://h/auth-sign-in?appUri=appUri&error=2', [], '', /server error/],
    ['back to the sign-in page', 302, 'http://h/auth-sign-in', [], '', /sign-in page/],
    ['no Location', 302, undefined, cookies, '', /without a Location/],
    ['no user-id', 302, 'http://h/', ['csrf-token=abc'], '', /no user-id/],
    [
      "the CSRF check's 400",
      400,
      undefined,
      [],
      'Missing or incorrect token.',
      /did not accept the form's CSRF token \(it answered 400 "Missing or incorrect token\."\)/,
    ],
    ['another 400', 400, undefined, [], 'Bad Request', /^it answered 400$/],
  ];
  for (const [name, status, location, setCookie, body, why] of cases) {
    test(name, () => {
      const verdict = judgeSignInAnswer(status, location, setCookie, body);
      if (why === undefined) assert.deepEqual(verdict, { ok: true });
      else assert.match(verdict.ok ? '' : verdict.why, why);
    });
  }
});
