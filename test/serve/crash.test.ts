// Issue #11: one unauthenticated request used to kill `serve` (a request target that
// `new URL()` cannot parse, before any auth). Another real user sends the very requests of the
// issue; the victim's serve answers 400, closes that connection, and keeps serving its owner.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeUserEnv, sendRawAs, startServeAs } from '../helpers/as-user.js';
import { serveDoubleArgs, type RunningCli } from '../helpers/cli.js';
import { statusesOf } from '../helpers/raw-http.js';
import { makeTempDir } from '../helpers/temp.js';
import { fetchServed } from '../helpers/served.js';
import { isRoot, notRootReason, useUsers } from '../helpers/users.js';

const HANDSHAKE =
  'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

describe(
  'requests that used to crash serve, from another user',
  { skip: isRoot ? false : notRootReason },
  () => {
    let cli: RunningCli | undefined;
    // Before useUsers: hooks run in the order they are registered, and removing the users kills
    // their processes.
    after(async () => {
      assert.equal((await cli?.stop())?.code, 0, cli?.stderr());
    });
    const users = useUsers('victim', 'attacker');
    const root = makeTempDir('rsp-crash-');
    let port: number;
    const served = () => {
      assert.ok(cli, 'serve started');
      return cli;
    };

    before(async () => {
      cli = await startServeAs(users.victim, serveDoubleArgs(), makeUserEnv(users.victim, root));
      port = Number(served().url.port);
      // rserver runs: a serve that died now would leave its rsession behind.
      assert.equal((await fetchServed(served(), '/rstudio/', { timeout: 30_000 })).status, 302);
    });

    const cases: [string, (host: string) => string][] = [
      // What `curl -g --path-as-is 'http://127.0.0.1:PORT/\[?token'` sends.
      [
        'GET /\\[?token (curl -g --path-as-is)',
        (host) =>
          `GET /\\[?token HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: curl/8.14.1\r\nAccept: */*\r\n\r\n`,
      ],
      [
        'an upgrade to GET /\\x:99999/?%41',
        (host) => `GET /\\x:99999/?%41 HTTP/1.1\r\nHost: ${host}\r\n${HANDSHAKE}\r\n`,
      ],
    ];
    for (const [name, request] of cases) {
      test(`${name}: 400, the connection closed, serve still up`, async () => {
        const answer = await sendRawAs(
          users.attacker,
          { host: '127.0.0.1', port },
          request(`127.0.0.1:${port}`),
        );
        assert.deepEqual(statusesOf(answer.text), [400], answer.text);
        assert.ok(answer.closed, 'serve closed the connection');
        const victim = served();
        assert.equal(victim.child.exitCode, null, `serve is running: ${victim.stderr()}`);
        assert.equal((await fetchServed(victim, '/rstudio/')).status, 302, 'the owner gets in');
      });
    }
  },
);
