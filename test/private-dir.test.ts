import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertPrivateDir, ensurePrivateDir, isRSessionProxyError } from '../lib/index.js';
import { makeTempDir } from './helpers/temp.js';
import { asUser, callLibAs, isRoot, notRootReason, useUsers } from './helpers/users.js';

async function refusal(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(isRSessionProxyError(error, 'ENOTPRIVATE'), String(error));
  return error;
}

describe('ensurePrivateDir', () => {
  test('creates 0700 even under umask 000 (a permissive umask must not open the directory)', async () => {
    const dir = join(makeTempDir(), 'instance');
    const previous = process.umask(0);
    try {
      await ensurePrivateDir(dir);
    } finally {
      process.umask(previous);
    }
    assert.equal(statSync(dir).mode & 0o7777, 0o700);
  });

  test('creates missing parents private too', async () => {
    const dir = join(makeTempDir(), 'a', 'b', 'c');
    await ensurePrivateDir(dir);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, '..')).mode & 0o777, 0o700);
  });

  test('accepts its own private directory again', async () => {
    const dir = join(makeTempDir(), 'twice');
    await ensurePrivateDir(dir);
    await ensurePrivateDir(dir);
  });

  test('refuses an existing 0755 directory and leaves its mode alone (others could enter it)', async () => {
    const dir = join(makeTempDir(), 'open');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    const error = await refusal(ensurePrivateDir(dir));
    assert.match(error.message, new RegExp(`${dir}: its mode is 0755`));
    assert.equal(statSync(dir).mode & 0o777, 0o755);
  });

  test('refuses a symlink to a private directory (a link planted to redirect our files)', async () => {
    const root = makeTempDir();
    const target = join(root, 'target');
    mkdirSync(target, { mode: 0o700 });
    const link = join(root, 'link');
    symlinkSync(target, link);
    const error = await refusal(ensurePrivateDir(link));
    assert.match(error.message, /is a symbolic link/);
    await refusal(assertPrivateDir(link));
  });

  test('refuses a file where a directory should be', async () => {
    const root = makeTempDir();
    const file = join(root, 'file');
    execFileSync('touch', [file]);
    assert.match((await refusal(assertPrivateDir(file))).message, /not a directory/);
  });

  test('assertPrivateDir refuses a missing directory with a way out', async () => {
    const error = await refusal(assertPrivateDir(join(makeTempDir(), 'missing')));
    assert.match(error.message, /does not exist/);
    assert.match(error.message, /mkdir -m 700/);
  });
});

describe('directories of other users', { skip: isRoot ? false : notRootReason }, () => {
  const users = useUsers('attacker', 'victim');

  test('refuses a 0700 directory owned by another user, and never changes it', async () => {
    const dir = join(makeTempDir(), 'theirs');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, users.attacker.uid, users.attacker.gid);
    const error = await refusal(ensurePrivateDir(dir));
    assert.match(
      error.message,
      new RegExp(`owned by ${users.attacker.name} \\(uid ${users.attacker.uid}\\)`),
    );
    const stats = statSync(dir);
    assert.equal(stats.uid, users.attacker.uid);
    assert.equal(stats.mode & 0o777, 0o700);
  });

  test('pre-creation attack: another user creates <tmp>/rsession-proxy-<victim uid> first', () => {
    // A shared /tmp-like directory (1777), as on a login node.
    const shared = makeTempDir();
    chmodSync(shared, 0o1777);
    const planted = join(shared, `rsession-proxy-${users.victim.uid}`);
    const [cmd, args] = asUser(users.attacker, 'mkdir', ['-m', '777', planted]);
    execFileSync(cmd, args);

    const result = callLibAs(users.victim, 'openInstance', [{}], {
      TMPDIR: shared,
      XDG_DATA_HOME: join(shared, 'victim-data'),
    });
    assert.equal(result.error?.code, 'ENOTPRIVATE');
    assert.match(
      result.error.message,
      new RegExp(`Refusing to use ${planted}: it is owned by ${users.attacker.name}`),
    );
    // Nothing of the victim's was written into the attacker's directory, which is untouched.
    assert.deepEqual(readdirSync(planted), []);
    assert.equal(statSync(planted).uid, users.attacker.uid);
  });

  test('XDG_RUNTIME_DIR owned by another user is not used (after su it names theirs)', () => {
    const xdg = makeTempDir();
    chownSync(xdg, users.attacker.uid, users.attacker.gid);
    const shared = makeTempDir();
    chmodSync(shared, 0o1777);
    const result = callLibAs<{
      layout: { dir: string; base: { source: string; warnings: string[] } };
    }>(users.victim, 'openInstance', [{}], {
      TMPDIR: shared,
      XDG_RUNTIME_DIR: xdg,
      XDG_DATA_HOME: join(shared, 'victim-data'),
    });
    assert.ok(result.value, JSON.stringify(result.error));
    const { layout } = result.value;
    assert.equal(layout.base.source, 'TMPDIR');
    assert.match(layout.base.warnings.join('\n'), new RegExp(`owned by ${users.attacker.name}`));
    assert.equal(layout.dir, join(shared, `rsession-proxy-${users.victim.uid}`, 'default'));
    assert.deepEqual(readdirSync(xdg), []);
    assert.ok(existsSync(layout.dir));
  });
});
