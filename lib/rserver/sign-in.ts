import { randomBytes } from 'node:crypto';
import { request, type IncomingMessage } from 'node:http';
import type { SignInCookies, SignInRequest } from '../backend.js';
import { RSessionProxyError } from '../errors.js';

export interface SignInCredentials {
  username: string;
  password: string;
}

/** How long rserver (and its sign-in helper) may take to answer a sign-in, in ms. */
const SIGN_IN_TIMEOUT = 30_000;
/** More than any answer to a sign-in; the rest is not read. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** The request headers that tell rserver where the browser is (cookie path, Secure, redirects). */
const FORWARDED_HEADERS = [
  'host',
  'user-agent',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-proto',
  'x-rstudio-root-path',
] as const;

/** What rserver's CSRF check answers when it refuses a form outright (validateCSRFForm). */
const CSRF_REFUSAL = 'Missing or incorrect token.';

// What rserver's refusal means: error=1 a wrong password, error=2 a server error (a bad CSRF
// token among them: doSignIn turns validateCSRFForm's 400 into that redirect).
function describeRefusal(location: string): string {
  const error = /[?&]error=(\d+)/.exec(location)?.[1];
  if (error === '1') return 'it found the password wrong';
  if (error === '2')
    return 'it reported a server error (the sign-in form or its CSRF token was refused)';
  return 'it sent the browser back to its sign-in page';
}

// An answer that is neither a redirect nor JSON: the CSRF check's own 400 is named as such, so
// that nobody looks for a wrong password.
function describeStatus(status: number, body: string): string {
  if (status === 400 && body.trim() === CSRF_REFUSAL)
    return `it did not accept the form's CSRF token (it answered 400 "${CSRF_REFUSAL}")`;
  return `it answered ${status}`;
}

// The sign-in form as rserver's page posts it, from 1.4 on: the CSRF token in both the field and
// the cookie (both names: `csrf-token` before 2022.02, `rs-csrf-token` since; rserver only checks
// that field and cookie agree), the password in plain text (--auth-encrypt-password=0), and
// `staySignedIn` so that the cookies outlive the browser's session.
export function buildSignInForm(
  credentials: SignInCredentials,
  token: string,
): { body: string; cookie: string } {
  const body = new URLSearchParams({
    username: credentials.username,
    password: credentials.password,
    staySignedIn: '1',
    appUri: '/',
    'rs-csrf-token': token,
    'csrf-token': token,
  }).toString();
  return { body, cookie: `rs-csrf-token=${token}; csrf-token=${token}` };
}

// Whether rserver's answer is a sign-in: a redirect away from the sign-in page (or, from 2026
// builds asked for JSON, `{"status":"ok"}`), with a user-id cookie.
export function judgeSignInAnswer(
  status: number,
  location: string | undefined,
  setCookie: readonly string[],
  body: string,
): { ok: true } | { ok: false; why: string } {
  const hasUserId = setCookie.some((line) => /^user-id=[^;]+/.test(line.trim()));
  if (status >= 300 && status < 400) {
    if (location === undefined)
      return { ok: false, why: `it answered ${status} without a Location` };
    if (/\/auth-sign-in(?:[?#]|$)/.test(location))
      return { ok: false, why: describeRefusal(location) };
  } else if (status !== 200 || !/"status"\s*:\s*"ok"/.test(body)) {
    return { ok: false, why: describeStatus(status, body) };
  }
  return hasUserId ? { ok: true } : { ok: false, why: 'it set no user-id cookie' };
}

// Reads an answer's body up to the limit.
async function readAnswer(res: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of res) {
    if (body.length < MAX_ANSWER_BYTES) body += (chunk as Buffer).toString('utf8');
  }
  return body;
}

// Signs in at rserver's socket with the launch's credentials, as the browser would with the
// form, and resolves to the cookies rserver set. The password goes to rserver in the body of one
// request over the private socket, and nowhere else.
export function signInAtSocket(
  socketPath: string,
  credentials: SignInCredentials,
  signIn: SignInRequest,
): Promise<SignInCookies> {
  const { body, cookie } = buildSignInForm(credentials, randomBytes(16).toString('hex'));
  const headers: Record<string, string | string[]> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = signIn.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  Object.assign(headers, {
    accept: 'text/html',
    cookie,
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': String(Buffer.byteLength(body)),
  });
  const failed = (why: string, cause?: unknown) =>
    new RSessionProxyError('ESIGNIN', `rserver refused the sign-in made on your behalf: ${why}.`, {
      path: socketPath,
      cause,
    });
  return new Promise((resolve, reject) => {
    const req = request({
      socketPath,
      method: 'POST',
      path: '/auth-do-sign-in',
      headers,
      timeout: SIGN_IN_TIMEOUT,
      signal: signIn.signal,
    });
    req.once('timeout', () =>
      req.destroy(new Error(`no answer within ${SIGN_IN_TIMEOUT / 1000} s`)),
    );
    req.once('error', (error) => reject(failed(`the request failed (${error.message})`, error)));
    req.once('response', (res) => {
      readAnswer(res).then(
        (text) => {
          const setCookie = res.headers['set-cookie'] ?? [];
          const verdict = judgeSignInAnswer(
            res.statusCode ?? 0,
            res.headers.location,
            setCookie,
            text,
          );
          if (verdict.ok) resolve({ setCookie });
          else reject(failed(verdict.why));
        },
        (error: unknown) => reject(failed('its answer broke off', error)),
      );
    });
    req.end(body);
  });
}
