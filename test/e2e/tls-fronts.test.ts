// Issue #14: serve behind real TLS fronts, each configured exactly as docs/front-proxies.md says
// (its fenced blocks, with this test's ports, paths and user put in): nginx and
// configurable-http-proxy 5, in front of serve's TCP port and of its Unix socket, with a
// certificate made by the doc's own openssl line. Through each: the whole sign-in with every
// absolute Location https://, Secure cookies, a POST from the page accepted, a wss:// echo; and
// without --trust-proxy, the failure the doc describes.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cookieAttributes } from '../helpers/browser.js';
import { DOUBLE_FLAGS, makeCliEnv, startCli, type RunningCli } from '../helpers/cli.js';
import { cookieHeader, cookieJar } from '../helpers/http-client.js';
import { fetchText } from '../helpers/fetch-text.js';
import { makeUserEnv, startServeAs } from '../helpers/as-user.js';
import { makeTempDir } from '../helpers/temp.js';
import {
  fetchTls,
  hasProgram,
  makeCertificate,
  nginxLaunch,
  openTlsWebSocket,
  startFront,
  wrapNginxConfig,
  type Certificate,
  type FrontLaunch,
  type Reply,
  type RunningFront,
} from '../helpers/tls-front.js';
import { isRoot, notRootReason, useUsers } from '../helpers/users.js';
import { closeWebSocket, nextMessage } from '../helpers/ws-client.js';

const DOC = readFileSync(
  join(import.meta.dirname, '..', '..', '..', 'docs', 'front-proxies.md'),
  'utf8',
);
const CHP = fileURLToPath(
  new URL(
    '../../../node_modules/configurable-http-proxy/bin/configurable-http-proxy',
    import.meta.url,
  ),
);
// The doc's sections this test runs.
const NGINX_TCP = "nginx in front of serve's TCP port";
const NGINX_UNIX = "nginx in front of serve's Unix socket";
const CHP_TCP = "configurable-http-proxy in front of serve's TCP port";
const CHP_UNIX = "configurable-http-proxy in front of serve's Unix socket";
// The placeholders of the documentation, replaced by this test's own.
const DOC_SOCKET = '/run/user/1000/rsession-proxy/default/proxy.sock';
const DOC_CERT_DIR = '/etc/ssl/rstudio/';

// The fenced blocks of the doc's section `heading`, in order: [language, text].
function docBlocks(heading: string): [string, string][] {
  const start = DOC.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `docs/front-proxies.md has a section "${heading}"`);
  const end = DOC.indexOf('\n## ', start + 1);
  const section = DOC.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => [m[1] ?? '', m[2] ?? '']);
}

// The command lines of the section's sh blocks.
function docCommands(heading: string): string[][] {
  return docBlocks(heading)
    .filter(([language]) => language === 'sh')
    .flatMap(([, text]) => text.trim().split('\n'))
    .map((line) => line.trim().split(/\s+/));
}

function docNginx(heading: string): string[] {
  return docBlocks(heading)
    .filter(([language]) => language === 'nginx')
    .map(([, text]) => text);
}

const ci = process.env.CI === 'true';
const missing = ['/usr/sbin/nginx', 'openssl'].filter((program) => !hasProgram(program, '-v'));
const skip =
  missing.length === 0 || ci
    ? false
    : `${missing.join(' and ')} not installed (Debian: apt-get install nginx openssl)`;

const { env } = makeCliEnv();
const dir = makeTempDir('rsp-tls-');
// nginx's workers run as the socket's owner: they must reach the temporary paths below `dir`.
chmodSync(dir, 0o755);
let made: Certificate | undefined;
let counter = 0;

// The certificate of the doc's openssl line, made once for the file.
function getCertificate(): Certificate {
  const [command] = docCommands('A certificate to try it with');
  assert.ok(command);
  made ??= makeCertificate(dir, command.join(' '));
  return made;
}

// `rsession-proxy serve …` as a section of the doc prints it, on the rserver double, with
// `--listen=127.0.0.1:8787` made port 0 and an instance of its own.
function serveArgs(command: string[], trustProxy: boolean): string[] {
  assert.deepEqual(command.slice(0, 2), ['rsession-proxy', 'serve']);
  const args = command
    .slice(2)
    .map((arg) => arg.replace('--listen=127.0.0.1:8787', '--listen=127.0.0.1:0'))
    .filter((arg) => trustProxy || arg !== '--trust-proxy');
  assert.equal(args.includes('--trust-proxy'), trustProxy);
  return [...args, `--instance=tls${++counter}`, ...DOUBLE_FLAGS];
}

// The section's first line, serve's, run as this process's user.
function startServe(heading: string, trustProxy = true): Promise<RunningCli> {
  const [command] = docCommands(heading);
  assert.ok(command);
  return startCli(['serve', ...serveArgs(command, trustProxy)], env);
}

// The Unix socket a serve printed it listens on.
function listeningSocket(cli: RunningCli): string {
  const printed = `${cli.stdout()}${cli.stderr()}`;
  const path = /listening on (\/\S+)/.exec(printed)?.[1];
  assert.ok(path, printed);
  return path;
}

// The doc's text with this test's certificate, ports and socket.
function substitute(text: string, front: number, api: number, target: string): string {
  return text
    .replaceAll(DOC_CERT_DIR, `${dir}/`)
    .replaceAll('8443', String(front))
    .replaceAll('8001', String(api))
    .replaceAll('127.0.0.1:8787', target)
    .replaceAll(encodeURIComponent(DOC_SOCKET), encodeURIComponent(target))
    .replaceAll(DOC_SOCKET, target);
}

function nginxFront(
  heading: string,
  target: string,
  main = '',
  isReady?: (reply: Reply) => boolean,
): Promise<RunningFront> {
  const http = docNginx(heading).find((block) => block.includes('server {'));
  assert.ok(http, `an nginx server block in "${heading}"`);
  const launch = (port: number, api: number) =>
    nginxLaunch(dir, wrapNginxConfig({ dir, main, http: substitute(http, port, api, target) }));
  return startFront(launch, getCertificate().ca, isReady);
}

function chpFront(heading: string, target: string): Promise<RunningFront> {
  const command = docCommands(heading).find((line) => line[0] === 'configurable-http-proxy');
  assert.ok(command, `a configurable-http-proxy line in "${heading}"`);
  return startFront(
    (port, api): FrontLaunch => ({
      command: process.execPath,
      args: [CHP, ...command.slice(1).map((arg) => substitute(arg, port, api, target))],
    }),
    getCertificate().ca,
  );
}

// Runs `use` with a started front, and stops the front however `use` ends.
async function through(
  starting: Promise<RunningFront>,
  use: (front: RunningFront) => Promise<void>,
): Promise<void> {
  const front = await starting;
  try {
    await use(front);
  } finally {
    await front.stop();
  }
}

interface Visit {
  url: string;
  reply: Reply;
}

// A browser's sign-in through the front: the printed URL's token at the front's address, then
// every redirect followed as given, cookies kept (a browser on https sends Secure ones).
async function signInThrough(front: RunningFront, token: string) {
  const jar = new Map<string, string>();
  const visits: Visit[] = [];
  const setCookies: string[] = [];
  let url = `${front.origin}/?token=${encodeURIComponent(token)}`;
  for (let hop = 0; hop < 10; hop++) {
    const headers = jar.size > 0 ? { cookie: cookieHeader(jar) } : {};
    const reply = await fetchTls(url, getCertificate().ca, { headers });
    visits.push({ url, reply });
    setCookies.push(...(reply.headers['set-cookie'] ?? []));
    for (const [name, value] of cookieJar(reply.headers)) jar.set(name, value);
    const location = reply.headers.location;
    if (reply.status < 300 || reply.status >= 400 || location === undefined) break;
    url = new URL(location, url).href;
    // A browser would follow an http:// one too; what the front does with it is the test's.
    if (!url.startsWith('https:')) break;
  }
  return { jar, visits, setCookies };
}

function describeVisits(visits: Visit[]): string {
  return visits
    .map((v) => `${v.url} ${v.reply.status} ${v.reply.headers.location ?? ''}`)
    .join('\n');
}

// What every front must carry: the sign-in, a POST with the page's Origin, a wss:// echo.
async function assertWorksThrough(front: RunningFront, serve: RunningCli) {
  const { jar, visits, setCookies } = await signInThrough(front, serve.token ?? '');
  assert.deepEqual(
    visits.map((v) => v.reply.status),
    [302, 302, 302, 200],
    describeVisits(visits),
  );
  const absolute = visits
    .map((v) => v.reply.headers.location ?? '')
    .filter((location) => /^[a-z]+:/i.test(location));
  assert.ok(absolute.length >= 2, describeVisits(visits));
  for (const location of absolute) {
    assert.ok(location.startsWith(`${front.origin}/`), `${location}\n${describeVisits(visits)}`);
  }
  assert.match(visits.at(-1)?.reply.body ?? '', /RStudio/);
  assert.ok(setCookies.length >= 4, setCookies.join('\n'));
  for (const line of setCookies) assert.ok(cookieAttributes(line).has('secure'), line);

  const csrf = jar.get('rs-csrf-token') ?? '';
  const post = (origin: string, body: string) =>
    fetchTls(`${front.origin}/rpc/tls_front`, getCertificate().ca, {
      method: 'POST',
      headers: {
        cookie: cookieHeader(jar),
        origin,
        'x-rs-csrf-token': csrf,
        'content-type': 'application/json',
      },
      body,
    });
  const accepted = await post(front.origin, '{"params":[]}');
  assert.equal(accepted.status, 200, accepted.body);
  assert.deepEqual(JSON.parse(accepted.body), { result: { method: 'tls_front', bytes: 13 } });
  // Without a body: serve closes a refused request's connection at once, and a front still
  // sending a body on it may answer 503 instead of passing the 403 on (CHP, Unix socket).
  const refused = await post('https://evil.example', '');
  assert.equal(refused.status, 403, refused.body);

  // What rserver was told: the browser's scheme and host, none of the client's own headers.
  const echo = await fetchTls(`${front.origin}/p/0a1b/echo`, getCertificate().ca, {
    headers: {
      cookie: cookieHeader(jar),
      'x-forwarded-proto': 'http',
      'x-rstudio-request': 'http://evil.example/',
    },
  });
  assert.equal(echo.status, 200, echo.body);
  const seen = (JSON.parse(echo.body) as { headers: Record<string, string> }).headers;
  assert.equal(seen['x-forwarded-proto'], 'https');
  assert.equal(seen['x-forwarded-host'], `127.0.0.1:${front.port}`);
  assert.equal(seen['x-rstudio-request'], undefined);

  const ws = await openTlsWebSocket(
    `wss://127.0.0.1:${front.port}/p/0a1b/terminal/1/`,
    getCertificate().ca,
    { cookie: cookieHeader(jar), origin: front.origin },
  );
  ws.send('over wss');
  assert.equal(await nextMessage(ws), 'over wss');
  await closeWebSocket(ws);
}

// Without --trust-proxy: the token's redirect is relative and works, but rserver's redirect is
// http:// on the https port, and the cookie has no Secure. serve itself is unharmed.
async function assertUntrustedFailure(front: RunningFront, serve: RunningCli) {
  const { visits, setCookies } = await signInThrough(front, serve.token ?? '').catch(
    (error: unknown) => {
      throw new Error(`the https part of the sign-in must work: ${String(error)}`);
    },
  );
  const plain = visits
    .map((v) => v.reply.headers.location ?? '')
    .find((location) => location.startsWith('http://'));
  assert.equal(plain, `http://127.0.0.1:${front.port}/auth-sign-in?appUri=%2F`);
  assert.ok(setCookies.length > 0);
  assert.ok(!setCookies.some((line) => cookieAttributes(line).has('secure')), setCookies.join());
  const health = await fetchTls(`${front.origin}/_rsession-proxy/health`, getCertificate().ca);
  assert.equal(health.body, 'ok\n', 'serve goes on serving');
  assert.equal(serve.child.exitCode, null);
  return plain;
}

describe('TLS fronts configured as docs/front-proxies.md says', { skip }, () => {
  let trusted: RunningCli;
  let untrusted: RunningCli;
  before(async () => {
    [trusted, untrusted] = await Promise.all([startServe(NGINX_TCP), startServe(NGINX_TCP, false)]);
  });
  after(async () => {
    for (const cli of [trusted, untrusted]) assert.equal((await cli.stop()).code, 0);
  });

  test('the CHP section starts serve as the nginx one does', () => {
    assert.deepEqual(docCommands(CHP_TCP)[0], docCommands(NGINX_TCP)[0]);
  });

  test('without --trust-proxy a client’s forwarding headers change nothing', async () => {
    const forged = {
      authorization: `token ${untrusted.token ?? ''}`,
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.example',
      forwarded: 'proto=https;host=evil.example',
      'x-rstudio-request': 'https://evil.example/',
    };
    const redirect = await fetchText(`${untrusted.origin}/`, { headers: forged, timeout: 30_000 });
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.location, `${untrusted.origin}/auth-sign-in?appUri=%2F`);
    const token = await fetchText(`${untrusted.origin}/?token=${untrusted.token ?? ''}`, {
      headers: { 'x-forwarded-proto': 'https' },
    });
    const [cookie = ''] = token.headers['set-cookie'] ?? [];
    assert.ok(cookie !== '' && !cookieAttributes(cookie).has('secure'), cookie);
  });

  test('nginx with TLS in front of the TCP port: sign-in, POST and wss:// work', async () => {
    await through(nginxFront(NGINX_TCP, trusted.url.host), async (front) => {
      await assertWorksThrough(front, trusted);
    });
  });

  test('nginx without --trust-proxy: rserver redirects to http:// on the https port, 400', async () => {
    await through(nginxFront(NGINX_TCP, untrusted.url.host), async (front) => {
      const plain = await assertUntrustedFailure(front, untrusted);
      const followed = await fetchText(plain);
      assert.equal(followed.status, 400);
      assert.match(followed.body, /The plain HTTP request was sent to HTTPS port/);
    });
  });

  test('CHP 5 with TLS in front of the TCP port: sign-in, POST and wss:// work', async () => {
    await through(chpFront(CHP_TCP, trusted.url.host), async (front) => {
      await assertWorksThrough(front, trusted);
      // CHP keeps a client's own X-Forwarded-Host: the host guard checks it.
      const forged = await fetchTls(`${front.origin}/`, getCertificate().ca, {
        headers: {
          authorization: `token ${trusted.token ?? ''}`,
          'x-forwarded-host': 'evil.example',
        },
      });
      assert.equal(forged.status, 403);
      assert.match(forged.body, /Host not allowed/);
    });
  });

  test('CHP without --trust-proxy: rserver redirects to http:// on the https port, no reply', async () => {
    await through(chpFront(CHP_TCP, untrusted.url.host), async (front) => {
      const plain = await assertUntrustedFailure(front, untrusted);
      await assert.rejects(fetchText(plain), /socket hang up|ECONNRESET|EPIPE/);
    });
  });

  test('CHP in front of the Unix socket, run as the socket’s owner', async () => {
    const heading = CHP_UNIX;
    const [command] = docCommands(heading);
    assert.ok(command);
    const serve = await startCli(['serve', ...serveArgs(command, true)], env);
    try {
      await through(chpFront(heading, listeningSocket(serve)), async (front) => {
        await assertWorksThrough(front, serve);
      });
    } finally {
      assert.equal((await serve.stop()).code, 0);
    }
  });
});

describe(
  'nginx in front of another user’s Unix socket',
  { skip: skip || (!isRoot && notRootReason) },
  () => {
    const users = useUsers('owner');
    // Made here, not in a hook: a directory made in a hook goes when that hook is done.
    const home = makeTempDir('rsp-user-');
    // A suite of its own, so that serve stops before the user is removed (with its processes).
    describe('serve as the owner, nginx started by root', () => {
      let serve: RunningCli;
      let socket: string;
      before(async () => {
        const [command] = docCommands(NGINX_UNIX);
        assert.ok(command);
        const args = ['serve', ...serveArgs(command, true)];
        serve = await startServeAs(users.owner, args, makeUserEnv(users.owner, home));
        socket = listeningSocket(serve);
      });
      after(async () => {
        const stopped = await serve.stop();
        assert.equal(stopped.code, 0, `${JSON.stringify(stopped)}\n${serve.stderr()}`);
      });

      test('with the user line naming the owner: sign-in, POST and wss:// work', async () => {
        const [main] = docNginx(NGINX_UNIX);
        assert.equal(main?.trim(), 'user alice;');
        const user = main.replace('alice', users.owner.name);
        await through(nginxFront(NGINX_UNIX, socket, user), async (front) => {
          await assertWorksThrough(front, serve);
        });
      });

      test('with nginx’s default worker user: 502, and Permission denied in its log', async () => {
        await through(
          nginxFront(NGINX_UNIX, socket, '', (reply) => reply.status === 502),
          (front) => {
            assert.match(
              front.output(),
              new RegExp(`connect\\(\\) to unix:${socket} failed \\(13: Permission denied\\)`),
            );
            return Promise.resolve();
          },
        );
      });
    });
  },
);
