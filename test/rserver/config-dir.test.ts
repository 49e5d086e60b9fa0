import assert from 'node:assert/strict';
import {
  mkdirSync,
  readFileSync,
  readlinkSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { getSiteConfigDirs, preparePrivateConfigDir } from '../../lib/rserver/config-dir.js';
import { makeTempDir } from '../helpers/temp.js';

describe('getSiteConfigDirs', () => {
  test('RSTUDIO_CONFIG_DIR alone when set', () =>
    assert.deepEqual(getSiteConfigDirs({ RSTUDIO_CONFIG_DIR: '/site', XDG_CONFIG_DIRS: '/x' }), [
      '/site',
    ]));
  test('XDG_CONFIG_DIRS then /etc, relative entries ignored', () =>
    assert.deepEqual(getSiteConfigDirs({ XDG_CONFIG_DIRS: '/a:rel:/b' }), [
      '/a/rstudio',
      '/b/rstudio',
      '/etc/rstudio',
    ]));
  test('/etc/rstudio by default', () => assert.deepEqual(getSiteConfigDirs({}), ['/etc/rstudio']));
});

describe('preparePrivateConfigDir', () => {
  test("a fresh 0600 key of its own and a link to each of the site's other files, first wins", async () => {
    const root = makeTempDir();
    const first = join(root, 'first', 'rstudio');
    const second = join(root, 'second', 'rstudio');
    mkdirSync(first, { recursive: true });
    mkdirSync(second, { recursive: true });
    writeFileSync(join(first, 'rsession.conf'), 'session-timeout-minutes=5\n');
    writeFileSync(join(first, 'session-rpc-key'), 'the site key');
    writeFileSync(join(second, 'rsession.conf'), 'ignored\n');
    writeFileSync(join(second, 'logging.conf'), '[*]\n');
    const dir = join(root, 'etc');
    const env = { XDG_CONFIG_DIRS: `${join(root, 'first')}:${join(root, 'second')}` };
    await preparePrivateConfigDir(dir, env);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(dir).sort(), ['logging.conf', 'rsession.conf', 'session-rpc-key']);
    assert.equal(readlinkSync(join(dir, 'rsession.conf')), join(first, 'rsession.conf'));
    assert.equal(readlinkSync(join(dir, 'logging.conf')), join(second, 'logging.conf'));
    const key = readFileSync(join(dir, 'session-rpc-key'), 'utf8');
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.equal(statSync(join(dir, 'session-rpc-key')).mode & 0o777, 0o600);
    await preparePrivateConfigDir(dir, env);
    assert.notEqual(
      readFileSync(join(dir, 'session-rpc-key'), 'utf8'),
      key,
      'made anew at every start',
    );
  });
});
