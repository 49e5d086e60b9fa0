// The 2026.05 regression, for real: a root-owned /var/lib/rstudio-server/session-rpc-key (0600,
// as a root-run rserver leaves it) stops a non-root rserver of 2026.05.0 to 2026.07.x, which read
// it before the user's cache; $RSTUDIO_CONFIG_DIR/session-rpc-key, found first, avoids it; 2026.08
// falls back to the user's cache; 2022.12 to 2026.04 never look there. The key reaches rsession as
// RS_SESSION_SERVER_RPC_SECRET. The test creates the system key (when the host has none) and
// removes it afterwards; the doubles run as a throw-away user.
import assert from 'node:assert/strict';
import {
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { VAR_LIB } from '../fixtures/rserver/key-file.js';
import { processStat, waitUntil } from '../helpers/proc.js';
import { findSessionPids, readProcessEnv } from '../helpers/rserver-double.js';
import { isRoot, notRootReason, useUsers, type TestUser } from '../helpers/users.js';
import {
  makeLayout,
  makeOwnedDir,
  runDoubleToExit,
  signInNone,
  startDouble,
  type Layout,
  type RunningDouble,
} from './harness.js';

const SYSTEM_KEY = join(VAR_LIB, 'session-rpc-key');
const SYSTEM_SECRET = 'root-only-secret';
const FAILURE =
  /\[rserver\] ERROR system error 13 \(Permission denied\) \[path: \/var\/lib\/rstudio-server\/session-rpc-key\]; OCCURRED AT /;

// What the host had, so that only what the test made is removed.
const hadDir = existsSync(VAR_LIB);
const hadKey = existsSync(SYSTEM_KEY);
const usableKey =
  !hadKey || (statSync(SYSTEM_KEY).uid === 0 && (statSync(SYSTEM_KEY).mode & 0o077) === 0);
const skip = !isRoot
  ? notRootReason
  : usableKey
    ? false
    : `${SYSTEM_KEY} exists and is not root's 0600 file; the test does not change it`;

// The secret the user's rsession got.
async function sessionSecret(layout: Layout, double: RunningDouble): Promise<string | undefined> {
  await signInNone(double);
  let pid = -1;
  await waitUntil(
    () =>
      (pid =
        findSessionPids(layout.dir).find((p) => processStat(p)?.ppid === double.child.pid) ?? -1) >
      0,
    10_000,
    'rsession to start',
  );
  return readProcessEnv(pid).RS_SESSION_SERVER_RPC_SECRET;
}

describe('session-rpc-key of a non-root rserver, with a root-owned system key', { skip }, () => {
  const users = useUsers('keyuser');
  before(() => {
    if (hadKey) return;
    mkdirSync(VAR_LIB, { recursive: true, mode: 0o755 });
    writeFileSync(SYSTEM_KEY, SYSTEM_SECRET, { mode: 0o600 });
  });
  after(() => {
    if (!hadKey) rmSync(SYSTEM_KEY, { force: true });
    if (!hadDir) rmdirSync(VAR_LIB);
  });

  // A layout of the user, with its cache inside; USER for an auth-none sign-in.
  function userRun(user: TestUser, release: string, env: Record<string, string> = {}) {
    const layout = makeLayout(user);
    return {
      layout,
      options: {
        release,
        tcp: true,
        user,
        env: { XDG_CACHE_HOME: layout.dir, ...env },
      },
    };
  }

  test('2026.05.0 to 2026.07.x fail on it', async () => {
    for (const release of ['2026.05.0+218', '2026.07.1+44']) {
      const { layout, options } = userRun(users.keyuser, release);
      const result = await runDoubleToExit(layout, options);
      assert.equal(result.code, 1, `${release}: ${result.stderr}`);
      assert.match(result.stderr, FAILURE, release);
    }
  });

  test('with RSTUDIO_CONFIG_DIR holding a key, 2026.05 reads that one first and starts', async () => {
    const { layout, options } = userRun(users.keyuser, '2026.05.0+218');
    const config = makeOwnedDir(layout, 'etc', users.keyuser);
    const key = join(config, 'session-rpc-key');
    writeFileSync(key, 'private-secret', { mode: 0o600 });
    chownSync(key, users.keyuser.uid, users.keyuser.gid);
    const double = await startDouble(layout, {
      ...options,
      env: { ...options.env, RSTUDIO_CONFIG_DIR: config },
    });
    assert.equal(await sessionSecret(layout, double), 'private-secret');
  });

  test('2026.08 falls back to the user cache; 2022.12 to 2026.04 never read the system key', async () => {
    for (const release of ['2026.08.0+100', '2024.12.1+563']) {
      const { layout, options } = userRun(users.keyuser, release);
      const double = await startDouble(layout, options);
      const cached = join(layout.dir, 'rstudio', 'session-rpc-key');
      const secret = await sessionSecret(layout, double);
      assert.equal(secret, readFileSync(cached, 'utf8'), release);
      assert.notEqual(secret, SYSTEM_SECRET);
      assert.equal(statSync(cached).uid, users.keyuser.uid);
      assert.equal(statSync(cached).mode & 0o777, 0o600);
      await double.stop();
    }
  });

  test('root reads the system key itself', async () => {
    const layout = makeLayout();
    const double = await startDouble(layout, { release: '2026.05.0+218', signInUser: 'root' });
    const secret = await sessionSecret(layout, double);
    assert.equal(secret, hadKey ? readFileSync(SYSTEM_KEY, 'utf8') : SYSTEM_SECRET);
  });
});

describe('RSERVER_DOUBLE_FAIL=session-rpc-key: the regression where root cannot stage it', () => {
  test('fails as 2026.05 does, unless RSTUDIO_CONFIG_DIR holds a key', async () => {
    const env = { RSERVER_DOUBLE_FAIL: 'session-rpc-key' };
    const layout = makeLayout();
    const failed = await runDoubleToExit(layout, { release: '2026.05.0+218', env });
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, FAILURE);
    const config = makeOwnedDir(layout, 'etc');
    writeFileSync(join(config, 'session-rpc-key'), 'private-secret', { mode: 0o600 });
    const double = await startDouble(layout, {
      release: '2026.05.0+218',
      env: { ...env, RSTUDIO_CONFIG_DIR: config },
    });
    assert.equal(await sessionSecret(layout, double), 'private-secret');
  });
});
