// The sign-in form of --auth-none=0, release by release, as ServerPAMAuth.cpp and
// ServerAuthCommon.cpp answer it: the CSRF cookie and field, the helper's arguments and input,
// the redirects and their error codes, the JSON of 2026 builds, the refusal of plain passwords
// with --auth-encrypt-password=1, sign-out, idle timeouts, and a browser that lost its cookies.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cookieHeader, cookieJar, type HttpReply } from '../helpers/http-client.js';
import { ask, makeLayout, startDouble, type Layout, type RunningDouble } from './harness.js';

const PASSWORD = 'correct horse';

// A helper that records its arguments and input, and accepts `ann` with PASSWORD.
function writeHelper(layout: Layout): { path: string; calls: () => string[] } {
  const path = join(layout.dir, 'pam-helper');
  const log = join(layout.dir, 'helper.log');
  writeFileSync(log, '');
  writeFileSync(
    path,
    [
      '#!/bin/sh',
      'input=$(cat)',
      `printf '%s|%s\\n' "$*" "$input" >> '${log}'`,
      `[ "$1" = ann ] && [ "$input" = '${PASSWORD}' ]`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return {
    path,
    calls: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((line) => line !== ''),
  };
}

async function startPam(
  release: string,
  extra: string[] = [],
): Promise<{ double: RunningDouble; layout: Layout; calls: () => string[] }> {
  const layout = makeLayout();
  const helper = writeHelper(layout);
  const name = (arg: string): string => arg.split('=')[0] ?? arg;
  const base = [
    '--auth-none=0',
    `--auth-pam-helper-path=${helper.path}`,
    '--auth-encrypt-password=0',
  ];
  const args = [...base.filter((arg) => !extra.some((e) => name(e) === name(arg))), ...extra];
  const double = await startDouble(layout, { release, tcp: true, args });
  return { double, layout, calls: helper.calls };
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

function post(
  double: RunningDouble,
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  return ask(double, path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
}

function cookieNames(answer: HttpReply): string[] {
  return (answer.headers['set-cookie'] ?? []).map((line) => line.split('=')[0] ?? '');
}

// The form's token (from the sign-in page), then the form posted as ann with PASSWORD and it.
async function signInWithPassword(
  double: RunningDouble,
  fields: Record<string, string> = {},
): Promise<{ answer: HttpReply; token: string }> {
  const token = cookieJar((await ask(double, '/auth-sign-in')).headers).get('rs-csrf-token') ?? '';
  const answer = await post(
    double,
    '/auth-do-sign-in',
    form({ username: 'ann', password: PASSWORD, appUri: '/', 'rs-csrf-token': token, ...fields }),
    { Cookie: `rs-csrf-token=${token}` },
  );
  return { answer, token };
}

describe('--auth-none=0 with a PAM helper, release by release', () => {
  test('2024.12: both CSRF cookies, the form field, the helper run with user, rstudio, 1', async () => {
    const { double, calls } = await startPam('2024.12.1+563');
    const page = await ask(double, '/auth-sign-in?appUri=%2Fsome%2Fpage');
    assert.equal(page.status, 200);
    assert.deepEqual(cookieNames(page), ['rs-csrf-token', 'csrf-token']);
    const jar = cookieJar(page.headers);
    const token = jar.get('rs-csrf-token') ?? '';
    assert.match(token, /^[0-9a-f-]{36}$/);
    assert.equal(jar.get('csrf-token'), token);
    for (const line of page.headers['set-cookie'] ?? []) assert.match(line, /; HttpOnly/);
    const html = page.body.toString();
    assert.ok(html.includes(`name="rs-csrf-token" value="${token}"`), html);
    assert.ok(html.includes('name="appUri" value="/some/page"'), html);

    // The page again: the same token, its cookie renewed.
    const again = await ask(double, '/auth-sign-in', { headers: { Cookie: cookieHeader(jar) } });
    assert.equal(cookieJar(again.headers).get('rs-csrf-token'), token);

    const cookie = `rs-csrf-token=${token}`;
    const fields = { username: 'ann', staySignedIn: '0', appUri: '/some/page' };
    const noToken = await post(
      double,
      '/auth-do-sign-in',
      form({ ...fields, password: PASSWORD }),
      {
        Cookie: cookie,
      },
    );
    assert.equal(noToken.status, 302);
    assert.equal(noToken.headers.location, 'http://h/auth-sign-in?appUri=appUri&error=2');
    const wrongToken = await post(
      double,
      '/auth-do-sign-in',
      form({ ...fields, password: PASSWORD, 'rs-csrf-token': 'nope' }),
      { Cookie: cookie },
    );
    assert.equal(wrongToken.headers.location, 'http://h/auth-sign-in?appUri=appUri&error=2');
    assert.deepEqual(calls(), [], 'the helper is not run without the token');

    const wrong = await post(
      double,
      '/auth-do-sign-in',
      form({ ...fields, password: 'wrong', 'rs-csrf-token': token }),
      { Cookie: cookie },
    );
    assert.equal(wrong.status, 302);
    assert.equal(wrong.headers.location, 'http://h/auth-sign-in?appUri=%2Fsome%2Fpage&error=1');
    assert.equal(wrong.headers['set-cookie'], undefined);
    const empty = await post(
      double,
      '/auth-do-sign-in',
      form({ ...fields, password: '', 'rs-csrf-token': token }),
      { Cookie: cookie },
    );
    assert.equal(empty.headers.location, 'http://h/auth-sign-in?appUri=%2Fsome%2Fpage&error=1');
    // The old names work too: `csrf-token` as cookie and field.
    const right = await post(
      double,
      '/auth-do-sign-in',
      form({ ...fields, password: PASSWORD, 'csrf-token': token }),
      { Cookie: `csrf-token=${token}` },
    );
    assert.equal(right.status, 302);
    assert.equal(right.headers.location, 'http://h/some/page');
    assert.deepEqual(cookieNames(right), [
      'user-id',
      'user-list-id',
      'persist-auth',
      'rs-csrf-token',
      'csrf-token',
    ]);
    assert.match(cookieJar(right.headers).get('user-id') ?? '', /^ann\|/);
    assert.equal(cookieJar(right.headers).get('rs-csrf-token'), token, 'the token is kept');
    assert.deepEqual(
      calls(),
      [`ann rstudio 1|wrong`, `ann rstudio 1|${PASSWORD}`],
      'no newline, no run for ""',
    );

    const signedIn = cookieJar(right.headers);
    const ide = await ask(double, '/', { headers: { Cookie: cookieHeader(signedIn) } });
    assert.equal(ide.status, 200);
    // Signed in, the sign-in page sends the browser back where it was going.
    const back = await ask(double, '/auth-sign-in?appUri=%2Fx', {
      headers: { Cookie: cookieHeader(signedIn) },
    });
    assert.equal(back.headers.location, 'http://h/x');
  });

  test('1.4 to 2021.09: only csrf-token, as cookie and as field', async () => {
    const { double, calls } = await startPam('2021.09.2+382');
    const page = await ask(double, '/auth-sign-in?appUri=%2F');
    assert.deepEqual(cookieNames(page), ['csrf-token']);
    const token = cookieJar(page.headers).get('csrf-token') ?? '';
    assert.ok(page.body.toString().includes(`name="csrf-token" value="${token}"`));
    const newName = await post(
      double,
      '/auth-do-sign-in',
      form({ username: 'ann', password: PASSWORD, appUri: '/', 'rs-csrf-token': token }),
      { Cookie: `rs-csrf-token=${token}` },
    );
    assert.equal(newName.headers.location, 'http://h/auth-sign-in?appUri=appUri&error=2');
    const right = await post(
      double,
      '/auth-do-sign-in',
      form({ username: 'ann', password: PASSWORD, appUri: '/', 'csrf-token': token }),
      { Cookie: `csrf-token=${token}` },
    );
    assert.equal(right.headers.location, 'http://h/');
    assert.deepEqual(cookieNames(right), ['user-id', 'user-list-id', 'persist-auth', 'csrf-token']);
    assert.deepEqual(calls(), [`ann rstudio 1|${PASSWORD}`]);
    // RPCs carry the token in X-CSRF-Token.
    const jar = cookieJar(right.headers);
    const rpc = (header: string) =>
      ask(double, '/rpc/get_state', {
        method: 'POST',
        headers: { Cookie: cookieHeader(jar), [header]: token },
        body: '{}',
      });
    assert.deepEqual(JSON.parse((await rpc('X-CSRF-Token')).body.toString()), {
      result: { method: 'get_state', bytes: 2 },
    });
    assert.equal(
      (JSON.parse((await rpc('X-RS-CSRF-Token')).body.toString()) as { error?: { code: number } })
        .error?.code,
      3,
    );
  });

  test('1.3: no token on the form; the helper gets the user only', async () => {
    const { double, calls } = await startPam('1.3.1093');
    const page = await ask(double, '/auth-sign-in');
    assert.equal(page.status, 200);
    assert.equal(page.headers['set-cookie'], undefined);
    assert.doesNotMatch(page.body.toString(), /csrf/);
    const wrong = await post(double, '/auth-do-sign-in', form({ username: 'ann', password: 'x' }));
    assert.equal(wrong.headers.location, 'http://h/auth-sign-in?error=1');
    const right = await post(
      double,
      '/auth-do-sign-in',
      form({ username: 'ann', password: PASSWORD, appUri: '/p' }),
    );
    assert.equal(right.headers.location, 'http://h/p');
    assert.deepEqual(cookieNames(right), ['user-id', 'csrf-token']);
    assert.deepEqual(calls(), ['ann|x', `ann|${PASSWORD}`]);
  });

  test('2026 builds: JSON answers to Accept: application/json, the client host as 4th argument', async () => {
    const { double, calls } = await startPam('2026.01.0+100', [
      '--auth-pam-require-password-prompt=0',
    ]);
    const token =
      cookieJar((await ask(double, '/auth-sign-in')).headers).get('rs-csrf-token') ?? '';
    const headers = { Cookie: `rs-csrf-token=${token}`, Accept: 'application/json' };
    const fields = { username: 'ann', appUri: '/', 'rs-csrf-token': token };
    const parse = (answer: HttpReply): unknown => JSON.parse(answer.body.toString());

    const badToken = await post(
      double,
      '/auth-do-sign-in',
      form({ ...fields, 'rs-csrf-token': 'x', password: PASSWORD }),
      headers,
    );
    assert.equal(badToken.status, 200);
    assert.deepEqual(parse(badToken), {
      status: 'error',
      error: 'server',
      message: 'Temporary server error, please try again',
    });
    const wrong = await post(
      double,
      '/auth-do-sign-in',
      form({ ...fields, password: 'x' }),
      headers,
    );
    assert.equal(wrong.headers.location, undefined);
    assert.deepEqual(parse(wrong), {
      status: 'error',
      error: 'invalid_login',
      message: 'Incorrect or invalid username/password',
    });
    const right = await post(double, '/auth-do-sign-in', form({ ...fields, password: PASSWORD }), {
      ...headers,
      'X-Forwarded-For': '192.0.2.7, 10.0.0.1',
    });
    assert.equal(right.status, 200);
    assert.deepEqual(parse(right), { status: 'ok', redirect: 'http://h/' });
    assert.match(cookieJar(right.headers).get('user-id') ?? '', /^ann\|/);
    // Without Accept: JSON, the redirects of every release.
    const plain = await post(double, '/auth-do-sign-in', form({ ...fields, password: PASSWORD }), {
      Cookie: `rs-csrf-token=${token}`,
    });
    assert.equal(plain.status, 302);
    assert.deepEqual(calls(), [
      'ann rstudio 0|x',
      `ann rstudio 0 192.0.2.7|${PASSWORD}`,
      `ann rstudio 0|${PASSWORD}`,
    ]);
    // Before 2026, Accept: application/json changes nothing.
    const older = await startPam('2025.09.1+401');
    const olderToken =
      cookieJar((await ask(older.double, '/auth-sign-in')).headers).get('rs-csrf-token') ?? '';
    const olderAnswer = await post(
      older.double,
      '/auth-do-sign-in',
      form({ ...fields, 'rs-csrf-token': olderToken, password: PASSWORD }),
      { Cookie: `rs-csrf-token=${olderToken}`, Accept: 'application/json' },
    );
    assert.equal(olderAnswer.status, 302);
  });

  test('--auth-encrypt-password=1 (the default) refuses a plain password without running the helper', async () => {
    const { double, calls } = await startPam('2024.12.1+563', ['--auth-encrypt-password=1']);
    const { answer } = await signInWithPassword(double);
    assert.equal(answer.headers.location, 'http://h/auth-sign-in?appUri=%2F&error=2');
    assert.deepEqual(calls(), []);
    assert.match(double.stderr(), /ERROR Failed sign-in - unable to decrypt password/);
  });

  test('timeouts: user-id valid for --auth-timeout-minutes, renewed by RPCs; 0 disables it', async () => {
    const { double, layout } = await startPam('2024.12.1+563', ['--auth-timeout-minutes=5']);
    const signIn = async (staySignedIn: string): Promise<HttpReply> =>
      (await signInWithPassword(double, { staySignedIn })).answer;
    const expiresOf = (value: string): number =>
      Date.parse(decodeURIComponent(value.split('|')[1] ?? ''));
    const session = await signIn('0');
    const jar = cookieJar(session.headers);
    const validity = expiresOf(jar.get('user-id') ?? '') - Date.now();
    assert.ok(validity > 4 * 60_000 && validity <= 5 * 60_000, `valid for ${validity} ms`);
    const userIdLine = (session.headers['set-cookie'] ?? []).find((line) =>
      line.startsWith('user-id='),
    );
    assert.doesNotMatch(userIdLine ?? '', /expires=/, 'a browser-session cookie');
    assert.equal(jar.get('persist-auth'), '0');
    const stay = await signIn('1');
    assert.equal(cookieJar(stay.headers).get('persist-auth'), '1');
    assert.match(
      (stay.headers['set-cookie'] ?? []).find((line) => line.startsWith('user-id=')) ?? '',
      /; expires=/,
    );

    // Activity renews the sign-in.
    const rpc = await ask(double, '/rpc/get_state', {
      method: 'POST',
      headers: { Cookie: cookieHeader(jar), 'X-RS-CSRF-Token': jar.get('rs-csrf-token') ?? '' },
      body: '{}',
    });
    assert.ok(cookieNames(rpc).includes('user-id'), 'renewed');

    // An idle browser: a user-id whose signed expiry has passed is no sign-in.
    const key = readFileSync(layout.keyFile, 'utf8');
    const past = new Date(Date.now() - 1000).toUTCString();
    const hmac = createHmac('sha256', key).update(`ann${past}`).digest('base64');
    const idle = new Map(jar).set('user-id', [`ann`, past, hmac].map(encodeURIComponent).join('|'));
    const timedOut = await ask(double, '/', { headers: { Cookie: cookieHeader(idle) } });
    assert.equal(timedOut.status, 302);
    assert.equal(timedOut.headers.location, 'http://h/auth-sign-in?appUri=%2F');
    const cleared = timedOut.headers['set-cookie'] ?? [];
    assert.deepEqual(cookieNames(timedOut), ['user-id', 'user-list-id', 'persist-auth']);
    for (const line of cleared) assert.match(line, /=; path=\/; expires=Thu, 01 Jan 1970/);

    const noTimeout = await startPam('2024.12.1+563', ['--auth-timeout-minutes=0']);
    const { answer } = await signInWithPassword(noTimeout.double);
    assert.deepEqual(cookieNames(answer), [
      'user-id',
      'user-list-id',
      'rs-csrf-token',
      'csrf-token',
    ]);
    const days =
      (expiresOf(cookieJar(answer.headers).get('user-id') ?? '') - Date.now()) / 86_400_000;
    assert.ok(days > 29 && days <= 30, `valid for ${days} days (--auth-stay-signed-in-days)`);
  });

  test('a browser that lost its cookies, or signed out, is sent to the sign-in page again', async () => {
    const { double } = await startPam('2024.12.1+563');
    const { answer: right, token } = await signInWithPassword(double);
    const jar = cookieJar(right.headers);
    assert.equal((await ask(double, '/', { headers: { Cookie: cookieHeader(jar) } })).status, 200);
    const lost = await ask(double, '/');
    assert.equal(lost.headers.location, 'http://h/auth-sign-in?appUri=%2F');
    assert.deepEqual(cookieNames(lost), ['user-id', 'user-list-id', 'persist-auth']);

    // Sign-out checks the form's token: 400 without it; then the cookie is revoked.
    const refused = await post(double, '/auth-sign-out', '', { Cookie: cookieHeader(jar) });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.toString(), 'Missing or incorrect token.');
    const out = await post(double, '/auth-sign-out', form({ 'rs-csrf-token': token }), {
      Cookie: cookieHeader(jar),
    });
    assert.equal(out.status, 302);
    assert.equal(out.headers.location, 'http://h/auth-sign-in');
    const reused = await ask(double, '/', { headers: { Cookie: cookieHeader(jar) } });
    assert.equal(reused.status, 302, 'the old cookie no longer signs in');
  });
});
