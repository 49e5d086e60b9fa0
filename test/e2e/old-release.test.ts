// Issue #16: `rsession-proxy serve` in front of an rserver without --www-socket (the double's
// 2024.04), as the CLI runs it, on a TCP port with the token and on its default Unix listener:
// the sign-in is made on the user's behalf (nobody types a password), R evaluates 1+1, a
// WebSocket echoes and a download streams, every byte intact; stopped, nothing is left.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { makeCliEnv, startCli, type RunningCli } from '../helpers/cli.js';
import { browse } from '../helpers/browser.js';
import {
  cookieHeader,
  cookieJar,
  httpRequest,
  type HttpReply,
  type HttpTarget,
} from '../helpers/http-client.js';
import { findSocketsAndLocks, readInstanceProcesses } from '../helpers/leftovers.js';
import { readMemory, resetPeak } from '../helpers/proc-usage.js';
import { requireRealR, writeRserverVariant } from '../helpers/rserver-double.js';
import { downloadHash, expectedDownloadHash } from '../helpers/slurm-cli.js';
import { closeWebSocket, nextMessage, openWebSocket } from '../helpers/ws-client.js';
import { IDE_PAGE_TITLE } from '../fixtures/rserver/ide-page.js';

const OLD = '2024.04.2+764';
const PREFIX = '/rstudio/';
const DOWNLOAD = 200 * 1024 * 1024;

/** How the test reaches one serve: where, and with what on every request. */
interface Reach {
  cli: RunningCli;
  target: HttpTarget;
  /** The WebSocket URL of a path. */
  ws: (path: string) => string;
  /** Host and the credential (the token, or the cookie it set). */
  headers: Record<string, string>;
  /** What a browser sends as Origin on a POST and a WebSocket. */
  origin: string;
}

// Signs in to rserver through serve: the first page load is answered by the adapter with
// rserver's cookies and a way back (rserver's sign-in form, which needs a password nobody has,
// is never shown). Returns the headers for what follows: the credential and rserver's cookies.
async function signInThrough(reach: Reach): Promise<Record<string, string>> {
  const first = await httpRequest(reach.target, {
    path: PREFIX,
    // Not text/html: a page load meanwhile gets the starting page, this waits for rserver.
    headers: reach.headers,
    timeoutMs: 30_000,
  });
  assert.equal(first.status, 302, first.body.toString());
  const back = new URL(first.headers.location ?? '', `http://localhost${PREFIX}`);
  assert.equal(back.pathname, PREFIX);
  const jar = cookieJar(first.headers);
  assert.ok(jar.has('user-id'), JSON.stringify(first.headers['set-cookie']));
  return { ...reach.headers, cookie: cookieHeader(jar) };
}

// What a signed-in RStudio does through serve: the IDE page, R, the terminal's WebSocket and a
// large download, which must stream (serve grows by far less than its size).
async function exercise(t: TestContext, reach: Reach, headers: Record<string, string>) {
  const send = (path: string, more: { method?: string; body?: string; headers?: object } = {}) =>
    httpRequest(reach.target, {
      method: more.method,
      path,
      body: more.body,
      headers: { ...headers, ...more.headers },
      timeoutMs: 60_000,
    });
  const ide: HttpReply = await send(PREFIX, { headers: { accept: 'text/html' } });
  assert.equal(ide.status, 200, ide.body.toString());
  assert.ok(ide.body.toString().includes(`<title>${IDE_PAGE_TITLE}</title>`));

  const csrf = /(?:^|; )rs-csrf-token=([^;]+)/.exec(headers.cookie ?? '')?.[1] ?? '';
  const evaluated = await send(`${PREFIX}rpc/eval`, {
    method: 'POST',
    headers: {
      origin: reach.origin,
      'x-rs-csrf-token': csrf,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ method: 'eval', params: ['1+1'] }),
  });
  assert.equal(evaluated.status, 200, evaluated.body.toString());
  assert.deepEqual(JSON.parse(evaluated.body.toString()), { result: { output: '[1] 2' } });

  const ws = await openWebSocket(
    reach.ws(`${PREFIX}p/0a1b/terminal/1/`),
    [],
    { ...headers, origin: reach.origin },
    10_000,
  );
  ws.send('Sys.time()');
  assert.equal(await nextMessage(ws), 'Sys.time()');
  await closeWebSocket(ws);

  const pid = reach.cli.pid;
  const before = readMemory(pid);
  resetPeak(pid);
  const path = `${PREFIX}export/data.bin?size=${DOWNLOAD}`;
  const file = await downloadHash(
    'socketPath' in reach.target
      ? { socketPath: reach.target.socketPath, path }
      : `http://${reach.target.host}:${reach.target.port}${path}`,
    headers,
  );
  assert.equal(file.status, 200);
  assert.equal(file.bytes, DOWNLOAD);
  assert.equal(file.sha256, expectedDownloadHash(DOWNLOAD));
  const growth = readMemory(pid).peak - before.rss;
  t.diagnostic(`200 MiB in ${Math.round(file.ms)} ms; serve grew by ${growth} bytes`);
  assert.ok(growth < DOWNLOAD / 2, `serve grew by ${growth} bytes`);
}

describe(`serve in front of an rserver without --www-socket (${OLD})`, () => {
  // serve's start, with the double of that release and real R; its log says the isolation.
  async function startServe(t: TestContext, args: string[]) {
    const r = requireRealR(t);
    if (r === undefined) return undefined;
    const { root, env, runtimeDir } = makeCliEnv();
    const rserver = await writeRserverVariant(root, { RSERVER_DOUBLE_RELEASE: OLD });
    const cli = await startCli(
      ['serve', `--rserver=${rserver}`, `--r=${r}`, `--prefix=${PREFIX}`, ...args],
      env,
    );
    assert.match(cli.stderr(), /isolation namespace: rserver listens on 127\.0\.0\.1 in a network/);
    return { cli, instanceDir: join(runtimeDir, 'default'), runtimeDir };
  }

  // Stopped: no process of the instance (rserver, rsession, the relay), no socket, no lock, and
  // the password went with it.
  async function stopAndCheck(cli: RunningCli, instanceDir: string, runtimeDir: string) {
    const password = readFileSync(join(instanceDir, 'password'), 'utf8');
    assert.ok(!`${cli.stdout()}${cli.stderr()}`.includes(password), 'the password is in no log');
    assert.deepEqual(await cli.stop(), { code: 0, signal: null }, cli.stderr());
    assert.deepEqual(readInstanceProcesses(instanceDir), []);
    assert.deepEqual(findSocketsAndLocks(runtimeDir), []);
  }

  test('TCP with the token: a browser signs in with no password typed; R, WebSocket, download', async (t) => {
    const started = await startServe(t, ['--listen=127.0.0.1:0']);
    if (started === undefined) return;
    const { cli, instanceDir, runtimeDir } = started;
    // The browser opens the printed URL: the token becomes serve's cookie, the adapter signs in.
    const { visits, jar } = await browse(cli.url.href);
    const hops = JSON.stringify(visits.map((visit) => [visit.url, visit.answer.status]));
    assert.equal(visits.at(-1)?.answer.status, 200, hops);
    assert.equal(visits.at(-1)?.url, `${cli.origin}${PREFIX}`, hops);
    assert.ok(jar.has('user-id') && jar.has('rs-csrf-token'), hops);
    const target = { host: '127.0.0.1', port: Number(cli.url.port) };
    const reach: Reach = {
      cli,
      target,
      ws: (path) => `ws://127.0.0.1:${target.port}${path}`,
      headers: {},
      origin: cli.origin,
    };
    await exercise(t, reach, { cookie: cookieHeader(jar) });
    await stopAndCheck(cli, instanceDir, runtimeDir);
  });

  test('the default Unix listener: signed in with no password typed; R, WebSocket, download', async (t) => {
    const started = await startServe(t, []);
    if (started === undefined) return;
    const { cli, instanceDir, runtimeDir } = started;
    const socketPath = join(instanceDir, 'proxy.sock');
    assert.ok(cli.stdout().includes(`8787:${socketPath}`), cli.stdout());
    const reach: Reach = {
      cli,
      target: { socketPath },
      ws: (path) => `ws+unix:${socketPath}:${path}`,
      headers: { host: 'localhost:8787', authorization: `token ${cli.token ?? ''}` },
      origin: 'http://localhost:8787',
    };
    await exercise(t, reach, await signInThrough(reach));
    await stopAndCheck(cli, instanceDir, runtimeDir);
  });
});
