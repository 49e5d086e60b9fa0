// The contract jupyter-server-proxy (4.4, run for real; it cannot be installed here) imposes on
// `rsession-proxy exec`, tested from the configuration docs/jupyter-server-proxy.md prints: it
// makes a fresh `mkdtemp` directory per start and passes `<dir>/socket`; it calls the command
// ready on any HTTP answer to `GET /` (each try given 1 s); it strips `{base_url}rstudio`, keeps
// the browser's Host and adds X-Forwarded-Context/-Prefix and X-ProxyContextPath; it restarts the
// command at once after a non-zero exit only. Every request here is what it would send.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { CLI, makeCliEnv } from './helpers/cli.js';
import { cookieHeader, cookieJar, httpRequest, type HttpReply } from './helpers/http-client.js';
import { markedPidsUnder } from './helpers/leftovers.js';
import { waitUntil } from './helpers/proc.js';
import { waitForExit } from './helpers/processes.js';
import { readMemory, resetPeak } from './helpers/proc-usage.js';
import {
  FAKE_R,
  RSERVER_DOUBLE,
  requireRealR,
  writeRserverVariant,
} from './helpers/rserver-double.js';
import { downloadHash, expectedDownloadHash } from './helpers/slurm-cli.js';
import { IDE_PAGE_TITLE } from './fixtures/rserver/ide-page.js';
import { closeWebSocket, nextMessage, openWebSocket } from './helpers/ws-client.js';

const doc = readFileSync(
  join(import.meta.dirname, '..', '..', 'docs', 'jupyter-server-proxy.md'),
  'utf8',
);

interface ServerSpec {
  command: string[];
  unix_socket: boolean;
  timeout: number;
}

const json = /```json\n([\s\S]*?)```/.exec(doc)?.[1];
assert.ok(json, 'docs/jupyter-server-proxy.md has a JSON block');
const spec = (JSON.parse(json) as { ServerProxy: { servers: { rstudio: ServerSpec } } }).ServerProxy
  .servers.rstudio;

const PREFIX = '/user/alice/rstudio';
const HOST = 'jupyter.example.org';
const HTML = 'text/html,application/xhtml+xml,*/*;q=0.8';
const { root, env, runtimeDir } = makeCliEnv();
const socketDirs: string[] = [];
after(() => {
  for (const dir of socketDirs) rmSync(dir, { recursive: true, force: true });
});

interface Exec {
  child: ChildProcess;
  socket: string;
  log(): string;
}

// Starts the documented command as jupyter-server-proxy does for "unix_socket": true, with the
// rserver given (the double by default) found through the environment.
function startLikeJupyter(rserver = RSERVER_DOUBLE, extraEnv: NodeJS.ProcessEnv = {}): Exec {
  const socketDir = mkdtempSync(join(tmpdir(), 'jupyter-server-proxy-'));
  socketDirs.push(socketDir);
  const socket = join(socketDir, 'socket');
  const argv = spec.command.map((part) =>
    part.replace('{unix_socket}', socket).replace('{base_url}', '/user/alice/'),
  );
  assert.equal(argv[0], 'rsession-proxy');
  const child = spawn(process.execPath, [CLI, ...argv.slice(1)], {
    env: { ...env, RSESSION_PROXY_RSERVER: rserver, RSTUDIO_WHICH_R: FAKE_R, ...extraEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  return { child, socket, log: () => log };
}

// jupyter-server-proxy's readiness check (simpervisor's ready()): until `timeout` has passed it
// takes any HTTP answer to `GET /` as ready, gives each try 1 s, and after a try that failed or
// timed out waits 10 ms, 20 ms, 40 ms… before the next. Returns the answer and how many tries it
// took.
async function waitReadyLikeJupyter(exec: Exec): Promise<HttpReply & { tries: number }> {
  const deadline = Date.now() + spec.timeout * 1000;
  const failed: string[] = [];
  for (let wait = 10; Date.now() < deadline; wait *= 2) {
    try {
      const reply = await httpRequest(
        { socketPath: exec.socket },
        { path: '/', headers: { host: 'localhost', accept: '*/*' }, timeoutMs: 1000 },
      );
      return { ...reply, tries: failed.length + 1 };
    } catch (error) {
      failed.push(String(error));
    }
    await delay(Math.max(0, Math.min(wait, deadline - Date.now() - 10)));
  }
  assert.fail(`exec was not ready within ${spec.timeout} s: ${failed.join('; ')}\n${exec.log()}`);
}

// What jupyter-server-proxy sends for a browser request to <base_url>rstudio<path>.
function send(
  exec: Exec,
  path: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    timeoutMs?: number;
  } = {},
): Promise<HttpReply> {
  return httpRequest(
    { socketPath: exec.socket },
    {
      method: options.method,
      path,
      body: options.body,
      timeoutMs: options.timeoutMs ?? 10_000,
      headers: {
        host: HOST,
        'x-forwarded-context': PREFIX,
        'x-proxycontextpath': PREFIX,
        'x-forwarded-prefix': PREFIX,
        ...options.headers,
      },
    },
  );
}

async function waitForRServer(exec: Exec): Promise<void> {
  await waitUntil(
    async () => (await send(exec, '/')).status === 302,
    spec.timeout * 1000,
    'rserver to answer through exec',
  );
}

interface Session {
  cookie: string;
  csrf: string;
}

async function signIn(exec: Exec, headers: Record<string, string> = {}): Promise<Session> {
  const first = await send(exec, '/', { headers });
  assert.equal(first.status, 302);
  const signInUrl = new URL(first.headers.location ?? '');
  assert.equal(signInUrl.pathname, `${PREFIX}/auth-sign-in`);
  const answer = await send(exec, `/auth-sign-in${signInUrl.search}`, { headers });
  assert.equal(answer.status, 302, answer.body.toString());
  const jar = cookieJar(answer.headers);
  const csrf = jar.get('rs-csrf-token');
  assert.ok(jar.has('user-id') && csrf !== undefined, JSON.stringify(answer.headers));
  return { cookie: cookieHeader(jar), csrf };
}

function instanceDirs(): string[] {
  return existsSync(runtimeDir) ? readdirSync(runtimeDir).filter((n) => !n.includes('.lock')) : [];
}

interface StatusRecord {
  kind: string;
  rserverPid?: number;
  listener?: string;
  prefix?: string;
}

// rserver's IDE page, which it serves only to a signed-in browser (the double's, with its user).
function assertSignedInPage(reply: HttpReply): void {
  const body = reply.body.toString();
  assert.ok(body.includes(`<title>${IDE_PAGE_TITLE}</title>`), body);
  assert.match(body, /signed you in as <b id="user">/);
}

// The status record of the one instance there is (what `rsession-proxy status` reads).
function readStatus(): StatusRecord {
  const [name] = instanceDirs();
  assert.ok(name, `an instance under ${runtimeDir}`);
  return JSON.parse(readFileSync(join(runtimeDir, name, 'status.json'), 'utf8')) as StatusRecord;
}

async function stopLikeJupyter(exec: Exec, signal: NodeJS.Signals = 'SIGTERM') {
  exec.child.kill(signal);
  return waitForExit(exec.child, 20_000);
}

function assertNothingLeft(exec: Exec): void {
  assert.equal(existsSync(exec.socket), false, 'socket removed');
  assert.deepEqual(markedPidsUnder(runtimeDir), [], 'no rserver, no rsession');
  assert.deepEqual(existsSync(runtimeDir) ? readdirSync(runtimeDir) : [], [], 'no state left');
  assert.equal(
    existsSync(join(root, 'data', 'rsession-proxy')),
    false,
    'nothing in the persistent state directory',
  );
}

describe('exec under the documented jupyter-server-proxy configuration', () => {
  test('the configuration is what jupyter-server-proxy needs', () => {
    assert.equal(spec.unix_socket, true);
    // exec answers once it listens, but node's own start on a loaded login node can take
    // seconds: the default 5 s leaves no room.
    assert.ok(spec.timeout >= 15, 'room for a loaded host');
    assert.ok(spec.command.includes('--socket={unix_socket}'));
    assert.ok(spec.command.includes('--root-path={base_url}rstudio/'));
  });

  test('ready at once; sign-in, RPC, WebSocket, a 50 MiB download and a 20 s long poll; SIGTERM exits 143 and leaves nothing', async () => {
    // rserver takes 2 s to bind: the readiness probe must not wait for it.
    const rserver = await writeRserverVariant(mkdtempSync(join(root, 'v-')), {
      RSERVER_DOUBLE_START_DELAY_MS: '2000',
      RSERVER_DOUBLE_LONG_POLL_MS: '20000',
    });
    const exec = startLikeJupyter(rserver);
    const probe = await waitReadyLikeJupyter(exec);
    // An answer that waited for rserver would be its 302, after 2 s: a try that times out
    // (1 s) is tried again, as jupyter-server-proxy does.
    assert.equal(probe.status, 503, `answered while rserver starts (try ${probe.tries})`);
    assert.equal(probe.headers['retry-after'], '2');
    assert.match(probe.body.toString(), /starting/);
    assert.equal(statSync(exec.socket).mode & 0o777, 0o600);
    // A browser arriving meanwhile gets the page that reloads itself.
    const starting = await send(exec, '/', { headers: { accept: HTML } });
    assert.ok([503, 302].includes(starting.status), String(starting.status));
    if (starting.status === 503) assert.match(starting.body.toString(), /Starting RStudio/);
    await waitForRServer(exec);

    // rserver's redirects carry the browser's host and the prefix jupyter-server-proxy stripped.
    const first = await send(exec, '/');
    assert.equal(first.headers.location, `http://${HOST}${PREFIX}/auth-sign-in?appUri=%2F`);
    const session = await signIn(exec);
    const ide = await send(exec, '/', { headers: { cookie: session.cookie, accept: HTML } });
    assert.equal(ide.status, 200);
    assertSignedInPage(ide);
    const rpc = await send(exec, '/rpc/get_state', {
      method: 'POST',
      headers: { cookie: session.cookie, 'x-rs-csrf-token': session.csrf },
    });
    assert.equal(rpc.status, 200, rpc.body.toString());
    assert.deepEqual(JSON.parse(rpc.body.toString()), {
      result: { method: 'get_state', bytes: 0 },
    });

    // The long poll, the download and the terminal's WebSocket at the same time.
    const polling = Date.now();
    const poll = send(exec, '/events/get_events', {
      method: 'POST',
      headers: { cookie: session.cookie, 'x-rs-csrf-token': session.csrf },
      timeoutMs: 60_000,
    }).then((reply) => ({ reply, held: Date.now() - polling }));
    const size = 50 * 1024 * 1024;
    const download = send(exec, `/export/data.bin?size=${size}`, {
      headers: { cookie: session.cookie },
      timeoutMs: 60_000,
    });
    const ws = await openWebSocket(
      `ws+unix:${exec.socket}:/p/0a1b2c3d/terminal/1/`,
      [],
      { host: HOST, origin: `http://${HOST}`, cookie: session.cookie },
      10_000,
    );
    ws.send('ls -l');
    assert.equal(await nextMessage(ws), 'ls -l');
    await closeWebSocket(ws);
    const file = await download;
    assert.equal(file.status, 200);
    assert.equal(file.body.length, size);
    for (const at of [0, 250, 251, 1_000_003, size - 1]) assert.equal(file.body[at], at % 251);
    const { reply, held } = await poll;
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.body.toString()), { result: [] });
    assert.ok(held >= 19_000, `the long poll was held until rserver answered (${held} ms)`);

    // Behind a TLS JupyterHub, which sets X-Forwarded-Proto: https redirects and Secure cookies.
    const tls = { 'x-forwarded-proto': 'https' };
    const overTls = await send(exec, '/', { headers: tls });
    assert.equal(overTls.headers.location, `https://${HOST}${PREFIX}/auth-sign-in?appUri=%2F`);
    const secure = await send(exec, '/auth-sign-in?appUri=%2F', { headers: tls });
    assert.ok(
      (secure.headers['set-cookie'] ?? []).every((line) => /; secure/i.test(line)),
      JSON.stringify(secure.headers['set-cookie']),
    );

    const record = readStatus();
    assert.equal(record.kind, 'exec');
    assert.equal(record.listener, `unix:${exec.socket}`);
    assert.equal(record.prefix, `${PREFIX}/`);

    assert.deepEqual(await stopLikeJupyter(exec), { code: 143, signal: null }, exec.log());
    assertNothingLeft(exec);
  });

  test('an rserver older than 2024.12.0: signed in with no password typed, R, a WebSocket, a streamed download', async (t) => {
    const r = requireRealR(t);
    if (r === undefined) return;
    const rserver = await writeRserverVariant(mkdtempSync(join(root, 'v-')), {
      RSERVER_DOUBLE_RELEASE: '2024.04.2+764',
    });
    const exec = startLikeJupyter(rserver, { RSTUDIO_WHICH_R: r });
    await waitReadyLikeJupyter(exec);
    await waitForRServer(exec);
    assert.match(
      exec.log(),
      /isolation namespace: rserver listens on 127\.0\.0\.1 in a network namespace/,
    );

    // The browser never sees rserver's sign-in form: exec signs in for it and sends it back
    // under the prefix jupyter-server-proxy stripped (which rewrites no Location).
    const page = `http://${HOST}${PREFIX}/`;
    const first = await send(exec, '/', { headers: { accept: HTML } });
    assert.equal(first.status, 302, first.body.toString());
    assert.equal(new URL(first.headers.location ?? '', page).href, page);
    const setCookie = first.headers['set-cookie'] ?? [];
    assert.ok(
      setCookie.some((line) => new RegExp(`^user-id=[^;]+;.*path=${PREFIX}(;|$)`, 'i').test(line)),
      JSON.stringify(setCookie),
    );
    const [instance] = instanceDirs();
    const password = readFileSync(join(runtimeDir, instance ?? '', 'password'), 'utf8');
    assert.ok(password.length >= 22);
    assert.ok(!JSON.stringify(first).includes(password), 'the password reaches no browser');
    const jar = cookieJar(first.headers);
    const cookie = cookieHeader(jar);
    const ide = await send(exec, '/', { headers: { cookie, accept: HTML } });
    assert.equal(ide.status, 200);
    assertSignedInPage(ide);

    const csrf = jar.get('rs-csrf-token') ?? '';
    const evaluated = await send(exec, '/rpc/eval', {
      method: 'POST',
      headers: { cookie, 'x-rs-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ method: 'eval', params: ['1+1'] }),
      timeoutMs: 60_000,
    });
    assert.equal(evaluated.status, 200, evaluated.body.toString());
    assert.deepEqual(JSON.parse(evaluated.body.toString()), { result: { output: '[1] 2' } });

    const ws = await openWebSocket(
      `ws+unix:${exec.socket}:/p/0a1b2c3d/terminal/1/`,
      [],
      { host: HOST, origin: `http://${HOST}`, cookie },
      10_000,
    );
    ws.send('print(1)');
    assert.equal(await nextMessage(ws), 'print(1)');
    await closeWebSocket(ws);

    // Through exec and the relay in rserver's namespace: every byte, and exec grows by far less
    // than the download (streams.test.ts says why half).
    const pid = exec.child.pid ?? 0;
    const before = readMemory(pid);
    resetPeak(pid);
    const size = 200 * 1024 * 1024;
    const file = await downloadHash(
      { socketPath: exec.socket, path: `/export/data.bin?size=${size}` },
      { host: HOST, cookie },
    );
    assert.equal(file.status, 200);
    assert.equal(file.bytes, size);
    assert.equal(file.sha256, expectedDownloadHash(size));
    const growth = readMemory(pid).peak - before.rss;
    t.diagnostic(`200 MiB through exec in ${Math.round(file.ms)} ms; exec grew by ${growth} bytes`);
    assert.ok(growth < size / 2, `exec grew by ${growth} bytes`);

    assert.deepEqual(await stopLikeJupyter(exec), { code: 143, signal: null }, exec.log());
    assertNothingLeft(exec);
  });

  test('a front that does not strip the prefix gets a page saying so, not a redirect loop', async () => {
    const exec = startLikeJupyter();
    await waitReadyLikeJupyter(exec);
    await waitForRServer(exec);
    // configurable-http-proxy without --no-include-prefix passes the browser's path on.
    for (const path of [`${PREFIX}/`, PREFIX, `${PREFIX}/auth-sign-in?appUri=%2F`]) {
      const page = await send(exec, path, { headers: { accept: HTML } });
      assert.equal(page.status, 404, path);
      assert.match(page.body.toString(), new RegExp(`still carries the prefix ${PREFIX}/`));
      assert.match(page.body.toString(), /--no-include-prefix/);
      assert.equal(page.headers.location, undefined);
    }
    assert.equal((await stopLikeJupyter(exec)).code, 143);
    assertNothingLeft(exec);
  });

  test('rserver crashes while a client keeps requesting: every request answered, a new rserver, exec stays', async (t) => {
    const rserver = await writeRserverVariant(mkdtempSync(join(root, 'v-')), {
      RSERVER_DOUBLE_EXIT_AFTER_MS: '3000',
      RSERVER_DOUBLE_EXIT_CODE: '1',
    });
    const exec = startLikeJupyter(rserver);
    await waitReadyLikeJupyter(exec);
    await waitForRServer(exec);
    const firstPid = readStatus().rserverPid;
    assert.ok(firstPid);
    const session = await signIn(exec);

    // The client: one request after the other (a page load every fourth), until a new rserver
    // has answered.
    const answers: { status: number; body: string; page: boolean }[] = [];
    const failures: string[] = [];
    let newPidAnswered = false;
    const deadline = Date.now() + 40_000;
    for (let i = 0; !newPidAnswered; i++) {
      const seen = answers.map((a) => `${a.status}${a.page ? 'p' : ''}`);
      assert.ok(
        Date.now() < deadline,
        `a new rserver within 40 s:\n${seen.join(' ')}\n${exec.log()}`,
      );
      const page = i % 4 === 0;
      try {
        const reply = await send(exec, '/auth-sign-in?appUri=%2F', {
          headers: page ? { accept: HTML } : {},
          timeoutMs: 60_000,
        });
        answers.push({ status: reply.status, body: reply.body.toString(), page });
        const pid = readStatus().rserverPid;
        newPidAnswered = reply.status === 302 && pid !== undefined && pid !== firstPid;
      } catch (error) {
        failures.push(String(error));
      }
    }
    assert.deepEqual(failures, [], 'no refused or cut connection');
    assert.equal(exec.child.exitCode, null, 'exec is still in the foreground');
    // The cookie key stays in the instance's directory while exec runs: the browser's sign-in
    // outlives the crash.
    const ide = await send(exec, '/', { headers: { cookie: session.cookie, accept: HTML } });
    assert.equal(ide.status, 200, ide.body.toString());
    assertSignedInPage(ide);
    assert.match(exec.log(), /exited with code 1 while running/);
    for (const answer of answers) {
      if (answer.status === 302) continue;
      const what = JSON.stringify(answer);
      if (answer.status === 502) {
        // Only a request on its way to rserver at the moment it died: cut off, said so.
        assert.match(answer.body, /ECONNRESET|EPIPE|socket hang up|broke off/, what);
      } else if (answer.page) {
        assert.equal(answer.status, 503, what);
        assert.match(answer.body, /Starting RStudio/, what);
      } else {
        assert.equal(answer.status, 503, what);
        assert.match(answer.body, /RStudio is restarting: .*rserver \(pid \d+\)/, what);
      }
    }
    const counts = new Map<string, number>();
    for (const { status, page } of answers) {
      const key = `${status}${page ? ' page' : ''}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    t.diagnostic(`answers: ${JSON.stringify(Object.fromEntries(counts))}`);
    // A request cut off is one that was on its way to rserver when it died (or went out on a
    // kept-alive connection it had just closed): all of them at that moment, in one run right
    // after the last answer of the first rserver; after that every answer says it restarts.
    const cut = answers.flatMap((answer, at) => (answer.status === 502 ? [at] : []));
    const firstCut = cut[0];
    if (firstCut !== undefined) {
      const sequence = answers.map((answer) => answer.status).join(' ');
      assert.deepEqual(
        cut,
        cut.map((_, k) => firstCut + k),
        `the cut-off requests in one run at the crash: ${sequence}`,
      );
      assert.equal(
        answers[firstCut - 1]?.status,
        302,
        `the first rserver answered just before: ${sequence}`,
      );
    }
    assert.equal((await stopLikeJupyter(exec)).code, 143, exec.log());
    assertNothingLeft(exec);
  });

  test('started and stopped again and again on new mkdtemp sockets: 128 + the signal each time, nothing piles up', async () => {
    for (const [signal, status] of [
      ['SIGTERM', 143],
      ['SIGINT', 130],
      ['SIGHUP', 129],
      ['SIGTERM', 143],
    ] as const) {
      const exec = startLikeJupyter();
      await waitReadyLikeJupyter(exec);
      await waitForRServer(exec);
      // Signed in: rserver has written its database and cookie key, and runs an rsession.
      await signIn(exec);
      assert.equal(instanceDirs().length, 1, 'one instance while it runs');
      assert.ok(markedPidsUnder(runtimeDir).length >= 1);
      assert.deepEqual(await stopLikeJupyter(exec, signal), { code: status, signal: null }, signal);
      assertNothingLeft(exec);
    }
  });

  test('no rserver at all: exec stays up and every request, the probe first, says why', async () => {
    const exec = startLikeJupyter(join(root, 'no-such-rserver'));
    const probe = await waitReadyLikeJupyter(exec);
    assert.equal(probe.status, 503);
    await waitUntil(
      async () => /not running: .*rserver/i.test((await send(exec, '/')).body.toString()),
      10_000,
      'the probe to carry the reason',
    );
    // A browser: at most one starting page, then the reason (the page does not reload).
    let page = await send(exec, '/', { headers: { accept: HTML } });
    if (/Starting RStudio/.test(page.body.toString())) {
      await waitUntil(
        async () => {
          page = await send(exec, '/', { headers: { accept: HTML } });
          return !/Starting RStudio/.test(page.body.toString());
        },
        10_000,
        'the reason after the starting page',
      );
    }
    assert.equal(page.status, 503);
    assert.match(page.body.toString(), /no-such-rserver/);
    assert.doesNotMatch(page.body.toString(), /http-equiv="refresh"/);
    assert.equal(exec.child.exitCode, null, 'exec did not exit: no restart loop');
    assert.equal((await stopLikeJupyter(exec)).code, 143, exec.log());
    assertNothingLeft(exec);
  });
});
