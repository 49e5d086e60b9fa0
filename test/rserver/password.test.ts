// The sign-in helper rserver runs for --auth-none=0: a real process, fed the way rserver feeds
// it (the password on stdin without a newline, `<user> rstudio <1|0> [<client>]`).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { describe, test } from 'node:test';
import {
  generatePassword,
  getPasswordFiles,
  removePasswordFiles,
  writePasswordFiles,
} from '../../lib/rserver/password.js';
import { makeTempDir } from '../helpers/temp.js';

const me = userInfo().username;

// The helper's exit code for this input and these arguments.
function runHelper(helper: string, input: string | Buffer, args = [me, 'rstudio', '1']): number {
  const result = spawnSync(helper, args, { input, timeout: 5000 });
  // A helper that refuses before reading its input closes the pipe on us.
  assert.ok(result.error === undefined || (result.error as NodeJS.ErrnoException).code === 'EPIPE');
  return result.status ?? -1;
}

describe('the password and its sign-in helper', () => {
  test('256 random bits in characters a form carries as they are', () => {
    const a = generatePassword();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, generatePassword());
  });

  test('written 0600 and 0700, accepted only exactly, removed with the launch', async () => {
    const files = getPasswordFiles(makeTempDir());
    const password = generatePassword();
    await writePasswordFiles(files, password);
    assert.equal(statSync(files.file).mode & 0o777, 0o600);
    assert.equal(statSync(files.helper).mode & 0o777, 0o700);
    assert.equal(runHelper(files.helper, password), 0);
    assert.equal(runHelper(files.helper, password, [me, 'rstudio', '1', '10.1.2.3']), 0);
    const wrong: [string, string | Buffer][] = [
      ['empty', ''],
      ['a trailing newline', `${password}\n`],
      ['a trailing NUL', Buffer.concat([Buffer.from(password), Buffer.from([0])])],
      ['a prefix', password.slice(0, -1)],
      ['one more byte', `${password}x`],
      [
        'another case',
        password.toUpperCase() === password ? password.toLowerCase() : password.toUpperCase(),
      ],
      ['a leading space', ` ${password}`],
      ['the file name', 'password'],
      ['a glob', '*'],
      ['a shell expansion', '$(cat password)'],
      ['4 KiB more', `${password}${'a'.repeat(5000)}`],
    ];
    for (const [name, input] of wrong) assert.equal(runHelper(files.helper, input), 1, name);
    assert.equal(runHelper(files.helper, password, ['nobody', 'rstudio', '1']), 1, 'another user');
    assert.equal(runHelper(files.helper, password, []), 1, 'no user');
    await removePasswordFiles(files);
    assert.throws(() => statSync(files.file), { code: 'ENOENT' });
    assert.throws(() => statSync(files.helper), { code: 'ENOENT' });
  });

  test('an empty password file accepts nothing', async () => {
    const files = getPasswordFiles(makeTempDir());
    await writePasswordFiles(files, '');
    assert.equal(runHelper(files.helper, ''), 1);
  });
});
