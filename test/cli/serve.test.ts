import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { browse, cookieAttributes } from '../helpers/browser.js';
import { CliProcess, DOUBLE_FLAGS, getServeUrl, runCli, makeCliEnv } from '../helpers/cli.js';
import { fetchText } from '../helpers/fetch-text.js';
import { cookieHeader, httpRequest } from '../helpers/http-client.js';
import { asUser, isRoot, notRootReason, useUsers } from '../helpers/users.js';
import { closeWebSocket, nextMessage, openWebSocket } from '../helpers/ws-client.js';
import { IDE_PAGE_TITLE } from '../fixtures/rserver/ide-page.js';
import { markedPids } from '../helpers/leftovers.js';

const { root, env } = makeCliEnv();
const markerPids = (instance: string) => markedPids(join(root, 'rt', instance));

async function startServe(
  instance: string,
  args: string[],
): Promise<{ serve: CliProcess; url: URL }> {
  const serve = new CliProcess(['serve', `--instance=${instance}`, ...args, ...DOUBLE_FLAGS], env);
  try {
    await serve.waitFor(/rserver starts on the first request/);
    await serve.waitFor(/^ {2}http:\/\//);
  } catch (error) {
    await serve.stop('SIGKILL');
    throw error;
  }
  const url = getServeUrl(serve.stdout);
  assert.ok(url, serve.stdout);
  return { serve, url };
}

describe('rsession-proxy serve over TCP', () => {
  let serve: CliProcess;
  let url: URL;
  let origin: string;
  let token: string;
  before(async () => {
    ({ serve, url } = await startServe('tcp', ['--listen=127.0.0.1:0', '--prefix=/rstudio/']));
    origin = url.origin;
    token = url.searchParams.get('token') ?? '';
  });
  after(async () => {
    assert.equal((await serve.stop()).code, 0, serve.stderr);
    assert.deepEqual(markerPids('tcp'), []);
  });

  test('prints a URL with a 32-byte token under the prefix', () => {
    assert.equal(url.pathname, '/rstudio/');
    assert.equal(Buffer.from(token, 'base64url').length, 32);
  });

  test('without the token: 401 for HTTP and WebSocket, and rserver is never started', async () => {
    for (const path of ['/rstudio/', '/rstudio/rpc/x', '/rstudio/p/abc/terminal/1/']) {
      assert.equal((await fetchText(`${origin}${path}`)).status, 401, path);
    }
    await assert.rejects(openWebSocket(`ws://127.0.0.1:${url.port}/rstudio/p/abc/terminal/1/`), {
      status: 401,
    });
    for (const wrong of [
      '',
      'x',
      token.slice(0, -1),
      `${token}x`,
      'A'.repeat(43),
      'A'.repeat(500),
    ]) {
      const answer = await fetchText(`${origin}/rstudio/`, {
        headers: { authorization: `token ${wrong}` },
      });
      assert.ok([401, 403].includes(answer.status), `${wrong.length}: ${answer.status}`);
      await assert.rejects(
        openWebSocket(`ws://127.0.0.1:${url.port}/rstudio/p/abc/`, [], {
          authorization: `token ${wrong}`,
        }),
        (error: { status?: number }) => [401, 403].includes(error.status ?? 0),
      );
    }
    assert.deepEqual(markerPids('tcp'), [], 'no rserver was started by unauthenticated requests');
    const status = await fetchText(`${origin}/rstudio/_rsession-proxy/status`);
    assert.equal(status.status, 401);
  });

  test('health answers ok without authentication and says nothing else', async () => {
    const health = await fetchText(`${origin}/rstudio/_rsession-proxy/health`);
    assert.equal(health.status, 200);
    assert.equal(health.body, 'ok\n');
  });

  test('the token in the query sets an HttpOnly SameSite=Strict cookie and redirects without it', async () => {
    const answer = await fetchText(url.href);
    assert.equal(answer.status, 302);
    assert.equal(answer.headers.location, '/rstudio/');
    const [cookie] = answer.headers['set-cookie'] ?? [];
    assert.ok(cookie);
    const attributes = cookieAttributes(cookie);
    assert.equal(attributes.get('path'), '/rstudio/');
    assert.ok(attributes.has('httponly'));
    assert.equal(attributes.get('samesite'), 'Strict');
    assert.ok(!cookie.includes(token), 'the cookie is not the token itself');
    assert.equal((await fetchText(`${origin}/rstudio/?token=wrong-token-value`)).status, 403);
  });

  test('with the token: the sign-in chain works through the prefix and a WebSocket echoes', async () => {
    const { visits, jar } = await browse(url.href);
    assert.deepEqual(
      visits.map((v) => v.answer.status),
      [302, 302, 302, 200],
      visits
        .map((v) => `${v.url} ${v.answer.status} ${v.answer.headers.location ?? ''}`)
        .join('\n'),
    );
    for (const { answer } of visits.slice(1, -1)) {
      assert.match(
        answer.headers.location ?? '',
        new RegExp(`^http://127\\.0\\.0\\.1:${url.port}/rstudio/`),
      );
    }
    assert.ok((visits.at(-1)?.answer.body ?? '').includes(`<title>${IDE_PAGE_TITLE}</title>`));
    const ws = await openWebSocket(`ws://127.0.0.1:${url.port}/rstudio/p/0a1b/terminal/1/`, [], {
      cookie: cookieHeader(jar),
    });
    ws.send('through serve');
    assert.equal(await nextMessage(ws), 'through serve');
    await closeWebSocket(ws);
    const status = await fetchText(`${origin}/rstudio/_rsession-proxy/status`, {
      headers: { cookie: cookieHeader(jar) },
    });
    const body = JSON.parse(status.body) as {
      state: string;
      pid: number;
      restarts: number;
      isolation: string;
    };
    assert.equal(body.state, 'running');
    assert.deepEqual(markerPids('tcp').includes(body.pid), true);
    assert.equal(body.restarts, 0);
    assert.equal(body.isolation, 'socket');
  });

  test('Authorization: token <t> works too', async () => {
    const answer = await fetchText(`${origin}/rstudio/`, {
      headers: { authorization: `token ${token}` },
    });
    assert.equal(answer.status, 302);
    assert.match(answer.headers.location ?? '', /\/rstudio\/auth-sign-in\?appUri=%2F$/);
  });

  test('DNS rebinding: a Host that is not localhost is refused before anything else', async () => {
    for (const host of [
      'attacker.example',
      `attacker.example:${url.port}`,
      'localhost.attacker.example',
      '127.0.0.1.nip.io',
    ]) {
      const answer = await fetchText(`${origin}/rstudio/_rsession-proxy/health`, {
        headers: { host },
      });
      assert.equal(answer.status, 403, host);
    }
    await assert.rejects(
      openWebSocket(`ws://127.0.0.1:${url.port}/rstudio/p/ab/`, [], {
        host: 'attacker.example',
        authorization: `token ${token}`,
      }),
      { status: 403 },
    );
    for (const host of [`localhost:${url.port}`, '127.0.0.1', '[::1]:8787']) {
      assert.equal(
        (await fetchText(`${origin}/rstudio/_rsession-proxy/health`, { headers: { host } })).status,
        200,
        host,
      );
    }
  });

  test('a second serve of the same instance exits 3 naming the holder', async () => {
    const second = await runCli(
      ['serve', '--instance=tcp', '--listen=127.0.0.1:0', ...DOUBLE_FLAGS],
      env,
    );
    assert.equal(second.code, 3, second.stderr);
    assert.match(second.stderr, new RegExp(`already in use by pid ${serve.child.pid}`));
  });

  test('status --json reports it; stop stops it cleanly', async () => {
    const status = await runCli(['status', '--json'], env);
    assert.equal(status.code, 0);
    const { instances } = JSON.parse(status.stdout) as {
      instances: {
        instance: string;
        running: boolean;
        supervisorPid: number;
        listener: string;
        isolation: string;
      }[];
    };
    const tcp = instances.find((i) => i.instance === 'tcp');
    assert.equal(tcp?.running, true);
    assert.equal(tcp.supervisorPid, serve.child.pid);
    assert.equal(tcp.listener, `127.0.0.1:${url.port}`);
    assert.match(tcp.isolation, /^socket: rserver listens on a Unix socket/);
  });
});

describe('rsession-proxy serve on its default Unix socket', () => {
  const users = isRoot ? useUsers('other') : undefined;

  test(
    'socket 0600 in a 0700 directory; another real user cannot connect',
    { skip: isRoot ? false : notRootReason },
    async () => {
      const { serve } = await startServe('unix', ['--no-token']);
      try {
        const socket = join(root, 'rt', 'unix', 'proxy.sock');
        assert.match(serve.stdout, new RegExp(`ssh -N -L 8787:${socket} `));
        assert.equal(statSync(socket).mode & 0o777, 0o600);
        assert.equal(statSync(join(root, 'rt', 'unix')).mode & 0o777, 0o700);
        const health = await httpRequest(
          { socketPath: socket },
          { path: '/_rsession-proxy/health', headers: { host: 'localhost:8787' } },
        );
        assert.equal(health.status, 200);
        const rebinding = await httpRequest(
          { socketPath: socket },
          { path: '/', headers: { host: 'attacker.example' } },
        );
        assert.equal(rebinding.status, 403);

        const other = users?.other;
        assert.ok(other);
        const connect = `require('net').connect(${JSON.stringify(socket)}).on('connect',()=>{console.log('CONNECTED');process.exit(0)}).on('error',e=>{console.log(e.code);process.exit(1)})`;
        const [command, args] = asUser(other, process.execPath, ['-e', connect]);
        const result = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 });
        assert.equal(result.stdout.trim(), 'EACCES');
        assert.deepEqual(markerPids('unix'), [], 'nothing started rserver');
      } finally {
        assert.equal((await serve.stop('SIGHUP')).code, 0);
      }
      const stop = await runCli(['stop', '--instance=unix'], env);
      assert.equal(stop.code, 0);
      assert.match(stop.stderr, /Nothing is running for instance unix/);
    },
  );

  test('stop ends a running serve through its supervisor', async () => {
    const { serve } = await startServe('stopped', ['--no-token']);
    const stop = await runCli(['stop', '--instance=stopped'], env);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stderr, /stopped instance stopped \(supervisor pid \d+\)/);
    assert.equal((await serve.exited).code, 0);
    const status = await runCli(['status', '--json'], env);
    const { instances } = JSON.parse(status.stdout) as { instances: { instance: string }[] };
    assert.equal(
      instances.find((i) => i.instance === 'stopped'),
      undefined,
      'no status left behind',
    );
  });

  test('--no-token with a TCP listener is refused (exit 2)', async () => {
    const result = await runCli(
      ['serve', '--no-token', '--listen=127.0.0.1:0', ...DOUBLE_FLAGS],
      env,
    );
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--no-token.*only allowed with a Unix socket listener/);
  });
});
