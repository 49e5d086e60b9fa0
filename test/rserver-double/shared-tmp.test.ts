// Releases up to 2022.07 keep their session-rpc-key (and, without --secure-cookie-key-file, their
// secure-cookie-key) in /tmp/rstudio-server, one directory for every user of the host: the first
// user's rserver creates it (0755) and its key (0600), and a second user's rserver is refused with
// the error the real server logs. A private /tmp (a mount namespace with a tmpfs, as
// `unshare --user --map-current-user --mount` allows any user) lets the second one start. Real
// users, real processes, the real path; the test leaves /tmp/rstudio-server alone if it was there.
import assert from 'node:assert/strict';
import { existsSync, rmSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { SHARED_TMP } from '../fixtures/rserver/key-file.js';
import { ask } from './harness.js';
import { isRoot, notRootReason, useUsers } from '../helpers/users.js';
import { makeLayout, runDoubleToExit, startDouble } from './harness.js';

const OLD = '2022.07.2+576';
const preexisting = existsSync(SHARED_TMP);
const skip = !isRoot
  ? notRootReason
  : preexisting
    ? `${SHARED_TMP} exists on this host already; the test does not touch another's files`
    : false;

// Inside a user and mount namespace of its own, with a fresh tmpfs on /tmp.
const PRIVATE_TMP = [
  'unshare',
  '--user',
  '--map-current-user',
  '--keep-caps',
  '--mount',
  'sh',
  '-c',
  'mount -t tmpfs tmpfs /tmp && exec "$0" "$@"',
];

describe(`${OLD}: the shared ${SHARED_TMP}`, { skip }, () => {
  const users = useUsers('first', 'second');
  before(() => rmSync(SHARED_TMP, { recursive: true, force: true }));
  after(() => rmSync(SHARED_TMP, { recursive: true, force: true }));

  test('the first user creates it, a second user is refused, a private /tmp lets the second start', async () => {
    const first = await startDouble(makeLayout(users.first), {
      release: OLD,
      tcp: true,
      user: users.first,
    });
    assert.equal((await ask(first, '/')).status, 302);
    const dir = statSync(SHARED_TMP);
    assert.equal(dir.uid, users.first.uid);
    assert.equal(dir.mode & 0o777, 0o755);
    const key = statSync(`${SHARED_TMP}/session-rpc-key`);
    assert.equal(key.uid, users.first.uid);
    assert.equal(key.mode & 0o777, 0o600);

    const refused = await runDoubleToExit(makeLayout(users.second), {
      release: OLD,
      tcp: true,
      user: users.second,
    });
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /\[rserver\] ERROR system error 13 \(Permission denied\) \[path: \/tmp\/rstudio-server\/session-rpc-key\]; OCCURRED AT /,
    );

    // Its layout lives outside /tmp, which the namespace hides behind a tmpfs.
    const second = await startDouble(makeLayout(users.second, '/var/tmp'), {
      release: OLD,
      tcp: true,
      user: users.second,
      wrapper: PRIVATE_TMP,
    });
    assert.equal((await ask(second, '/')).status, 302);
    assert.equal(
      statSync(`${SHARED_TMP}/session-rpc-key`).uid,
      users.first.uid,
      'the host’s is untouched',
    );

    // 2022.12 and later keep the key in the user's cache: no collision without a namespace.
    const layout = makeLayout(users.second);
    const newer = await startDouble(layout, {
      release: '2022.12.0+353',
      tcp: true,
      user: users.second,
      env: { XDG_CACHE_HOME: layout.dir },
    });
    assert.equal((await ask(newer, '/')).status, 302);
    assert.equal(statSync(`${layout.dir}/rstudio/session-rpc-key`).uid, users.second.uid);
  });

  test('without --secure-cookie-key-file the cookie key is shared the same way', async () => {
    const layout = makeLayout(users.first);
    const first = await startDouble(layout, {
      release: OLD,
      tcp: true,
      user: users.first,
      args: ['--secure-cookie-key-file='],
    });
    assert.equal((await ask(first, '/')).status, 302);
    assert.equal(statSync(`${SHARED_TMP}/secure-cookie-key`).uid, users.first.uid);
    assert.equal(existsSync(layout.keyFile), false);
  });
});
