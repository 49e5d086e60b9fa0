// rserver refusing the sign-in made on the user's behalf because of its CSRF token: the browser
// gets one 502 that says so, for each page it asks for, never a redirect back into a sign-in
// loop. The rserver here is a stand-in that answers only what the path needs: the redirect to the
// sign-in page, and a refusal of every sign-in form (the CSRF check's own 400, or the redirect
// with error=2 that rserver's doSignIn turns it into).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { SignInCookies, SignInRequest } from '../../lib/backend.js';
import type { RSessionProxyError } from '../../lib/errors.js';
import { SignInAgent } from '../../lib/rserver/sign-in-agent.js';
import { FakeBackend } from '../helpers/fake-backend.js';
import { fetchText } from '../helpers/fetch-text.js';
import { closeFront, startFront } from '../helpers/front.js';
import { makeTempDir } from '../helpers/temp.js';

type Refusal = { status: number; headers: Record<string, string>; body: string };

const CSRF_400: Refusal = {
  status: 400,
  headers: { 'content-type': 'text/html' },
  body: 'Missing or incorrect token.',
};
const ERROR_2: Refusal = {
  status: 302,
  headers: { location: 'http://h/rstudio/auth-sign-in?appUri=appUri&error=2' },
  body: '',
};

// The stand-in on `<dir>/rserver.sock`: every GET is sent to the sign-in page, every sign-in
// form gets `refusal`; the forms it was sent are kept.
async function startRefusingRServer(dir: string, refusal: Refusal) {
  const socketPath = join(dir, 'rserver.sock');
  const forms: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/auth-do-sign-in') {
        forms.push({ headers: req.headers, body });
        res.writeHead(refusal.status, refusal.headers).end(refusal.body);
        return;
      }
      res.writeHead(302, { location: 'http://h/rstudio/auth-sign-in?appUri=%2F' }).end();
    });
  });
  server.listen(socketPath);
  await once(server, 'listening');
  after(() => new Promise((resolve) => server.close(resolve)));
  return { socketPath, forms };
}

// A running backend that signs in as the supervisor does for a password launch.
class SigningBackend extends FakeBackend {
  readonly #agent: SignInAgent;
  constructor(socketPath: string) {
    super(socketPath);
    this.#agent = new SignInAgent(socketPath, { username: 'ann', password: 'secret' });
  }
  signIn(request: SignInRequest): Promise<SignInCookies> {
    return this.#agent.signIn(request);
  }
}

describe('a sign-in on the user’s behalf that rserver refuses for its CSRF token', () => {
  const cases: [string, Refusal, RegExp][] = [
    [
      "the CSRF check's 400",
      CSRF_400,
      /rserver refused the sign-in made on your behalf: it did not accept the form's CSRF token \(it answered 400 "Missing or incorrect token\."\)\./,
    ],
    [
      'the redirect with error=2',
      ERROR_2,
      /rserver refused the sign-in made on your behalf: it reported a server error \(the sign-in form or its CSRF token was refused\)\./,
    ],
  ];
  for (const [name, refusal, message] of cases) {
    test(`${name}: one 502 naming it per page asked for, no loop`, async () => {
      const rserver = await startRefusingRServer(makeTempDir(), refusal);
      const backend = new SigningBackend(rserver.socketPath);
      backend.ready();
      const reported: RSessionProxyError[] = [];
      const front = await startFront({
        backend,
        prefix: '/rstudio',
        onError: (error) => reported.push(error),
      });
      after(() => closeFront(front));

      for (let visit = 1; visit <= 3; visit++) {
        const page = await fetchText(`${front.origin}/rstudio/`, {
          headers: { accept: 'text/html' },
        });
        assert.equal(page.status, 502, page.body);
        assert.equal(page.headers.location, undefined, 'nothing to follow back to a sign-in');
        assert.match(page.body.replaceAll('&#34;', '"').replaceAll('&#39;', "'"), message);
        // One form per page, with its token in the field and the cookie: never a retry storm.
        assert.equal(rserver.forms.length, visit);
      }
      const form = new URLSearchParams(rserver.forms[0]?.body);
      const token = form.get('rs-csrf-token') ?? '';
      assert.match(token, /^[0-9a-f]{32}$/);
      assert.match(String(rserver.forms[0]?.headers.cookie), new RegExp(`rs-csrf-token=${token}`));

      const json = await fetchText(`${front.origin}/rstudio/`, {
        headers: { accept: 'application/json' },
      });
      assert.equal(json.status, 502);
      const { error } = JSON.parse(json.body) as { error: { code: string; message: string } };
      assert.equal(error.code, 'ESIGNIN');
      assert.match(error.message, message);
      assert.equal(reported.length, 4);
      assert.ok(reported.every((e) => e.code === 'ESIGNIN'));
    });
  }
});
