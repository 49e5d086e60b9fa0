// Releases before 2024.12.0 have no --www-socket: not in --help, refused on the command line and
// in rserver.conf, and they listen on TCP only — --www-address (default 0.0.0.0, every interface)
// and --www-port. Over TCP they serve what a launcher needs: the sign-in chain, the IDE page, RPCs
// with the CSRF header, a WebSocket.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { cookieHeader } from '../helpers/http-client.js';
import { ask, callRpc, makeLayout, runDoubleToExit, signInNone, startDouble } from './harness.js';

const OLD = '2024.04.2+764';

describe(`${OLD}: TCP only`, () => {
  test('--www-socket is refused on the command line and in rserver.conf', async () => {
    const layout = makeLayout();
    const command = await runDoubleToExit(layout, { release: OLD, env: { RS_LOGGER_TYPE: '' } });
    assert.equal(command.code, 1);
    assert.equal(command.stderr, "unrecognised option '--www-socket' on command line\n");

    const conf = join(layout.dir, 'rserver.conf');
    writeFileSync(conf, `www-socket=${layout.socket}\n`);
    const file = await runDoubleToExit(layout, {
      release: OLD,
      tcp: true,
      args: [`--config-file=${conf}`],
      env: { RS_LOGGER_TYPE: '' },
    });
    assert.equal(file.code, 1);
    assert.equal(file.stderr, `Error reading ${conf}: unrecognised option 'www-socket'\n`);
  });

  test('without --www-address it listens on every interface', async () => {
    const double = await startDouble(makeLayout(), { release: OLD, tcp: true, tcpAddress: '' });
    assert.match(double.stderr(), /rserver 2024\.04\.2\+764 listening on 0\.0\.0\.0:\d+/);
    assert.equal((await ask(double, '/')).status, 302);
  });

  test('sign-in, the IDE page, an RPC and a WebSocket over TCP', async () => {
    const double = await startDouble(makeLayout(), { release: OLD, tcp: true });
    const first = await ask(double, '/');
    assert.equal(first.headers.location, 'http://h/auth-sign-in?appUri=%2F');
    const jar = await signInNone(double);
    assert.equal((await ask(double, '/', { headers: { Cookie: cookieHeader(jar) } })).status, 200);
    assert.deepEqual(await callRpc(double, jar, 'get_state'), {
      result: { method: 'get_state', bytes: 34 },
    });
    const target = double.target as { host: string; port: number };
    const ws = new WebSocket(`ws://${target.host}:${target.port}/p/0a1b/terminal/1/`, {
      headers: { Cookie: cookieHeader(jar) },
    });
    const echo = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hello'));
      ws.once('message', (data: Buffer) => resolve(data.toString()));
      ws.once('error', reject);
    });
    ws.close();
    assert.equal(echo, 'hello');
  });
});
