import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CLI, makeCliEnv } from './helpers/cli.js';
import { httpRequest } from './helpers/http-client.js';
import { markedPidsUnder } from './helpers/leftovers.js';
import { waitUntil } from './helpers/proc.js';
import { waitForExit } from './helpers/processes.js';
import { FAKE_R, RSERVER_DOUBLE } from './helpers/rserver-double.js';
import { probeHttp } from '../lib/rserver/readiness.js';

const doc = readFileSync(
  join(import.meta.dirname, '..', '..', 'docs', 'jupyter-server-proxy.md'),
  'utf8',
);

interface ServerSpec {
  command: string[];
  unix_socket: boolean;
  timeout: number;
}

test('the documented jupyter-server-proxy configuration runs RStudio on its socket', async () => {
  const json = /```json\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(json, 'docs/jupyter-server-proxy.md has a JSON block');
  const spec = (JSON.parse(json) as { ServerProxy: { servers: { rstudio: ServerSpec } } })
    .ServerProxy.servers.rstudio;
  assert.equal(spec.unix_socket, true);
  assert.ok(spec.timeout >= 15);

  // What jupyter-server-proxy does for "unix_socket": true, and for {base_url}.
  const socketDir = mkdtempSync(join(tmpdir(), 'jupyter-server-proxy-'));
  after(() => rmSync(socketDir, { recursive: true, force: true }));
  const socket = join(socketDir, 'socket');
  const argv = spec.command.map((part) =>
    part.replace('{unix_socket}', socket).replace('{base_url}', '/user/alice/'),
  );
  assert.equal(argv[0], 'rsession-proxy');
  const { env, runtimeDir } = makeCliEnv();
  const child = spawn(process.execPath, [CLI, ...argv.slice(1)], {
    env: { ...env, RSESSION_PROXY_RSERVER: RSERVER_DOUBLE, RSTUDIO_WHICH_R: FAKE_R },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
  try {
    await waitUntil(
      () => probeHttp(socket),
      spec.timeout * 1000,
      'RStudio to answer on the socket',
    );
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    // jupyter-server-proxy strips /user/alice/rstudio/ and keeps the browser's Host.
    const reply = await httpRequest(
      { socketPath: socket },
      { path: '/', headers: { host: 'jupyter.example.org' } },
    );
    assert.equal(reply.status, 302);
    assert.equal(
      reply.headers.location,
      'http://jupyter.example.org/user/alice/rstudio/auth-sign-in?appUri=%2F',
    );
  } finally {
    child.kill('SIGTERM');
  }
  const exit = await waitForExit(child, 20_000);
  assert.equal(exit.code, 0, log);
  assert.equal(existsSync(socket), false);
  assert.deepEqual(markedPidsUnder(runtimeDir), []);
  assert.deepEqual(readdirSync(runtimeDir), [], 'no state directory left behind');
});
