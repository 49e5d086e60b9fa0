import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ensureInstanceDir, resolveRuntimeBase, validateInstanceName } from '../lib/index.js';
import { makeTempDir } from './helpers/temp.js';

const uid = process.getuid?.() ?? 0;

describe('resolveRuntimeBase', () => {
  const privateXdg = makeTempDir();
  const openXdg = makeTempDir();
  chmodSync(openXdg, 0o755);
  const linkXdg = join(makeTempDir(), 'link');
  symlinkSync(privateXdg, linkXdg);
  const fallback = join(tmpdir(), `rsession-proxy-${uid}`);

  const cases: {
    name: string;
    runtimeDir?: string;
    env: NodeJS.ProcessEnv;
    path: string;
    source: string;
    warning?: RegExp;
  }[] = [
    { name: 'nothing set → tmpdir', env: {}, path: fallback, source: 'tmpdir' },
    {
      name: 'private XDG_RUNTIME_DIR',
      env: { XDG_RUNTIME_DIR: privateXdg },
      path: join(privateXdg, 'rsession-proxy'),
      source: 'XDG_RUNTIME_DIR',
    },
    {
      name: 'XDG_RUNTIME_DIR with mode 0755 → tmpdir, with a warning',
      env: { XDG_RUNTIME_DIR: openXdg },
      path: fallback,
      source: 'tmpdir',
      warning: /mode is 0755/,
    },
    {
      name: 'XDG_RUNTIME_DIR that is a symlink → tmpdir',
      env: { XDG_RUNTIME_DIR: linkXdg },
      path: fallback,
      source: 'tmpdir',
      warning: /symbolic link/,
    },
    {
      name: 'relative XDG_RUNTIME_DIR → tmpdir',
      env: { XDG_RUNTIME_DIR: 'run/user' },
      path: fallback,
      source: 'tmpdir',
      warning: /not an absolute path/,
    },
    {
      name: 'missing XDG_RUNTIME_DIR → tmpdir',
      env: { XDG_RUNTIME_DIR: '/nonexistent/xdg' },
      path: fallback,
      source: 'tmpdir',
      warning: /cannot be read/,
    },
    {
      name: 'RSESSION_PROXY_RUNTIME_DIR wins over XDG',
      env: { RSESSION_PROXY_RUNTIME_DIR: '/srv/rsp', XDG_RUNTIME_DIR: privateXdg },
      path: '/srv/rsp',
      source: 'RSESSION_PROXY_RUNTIME_DIR',
    },
    {
      name: 'the option wins over everything',
      runtimeDir: '/opt/rsp',
      env: { RSESSION_PROXY_RUNTIME_DIR: '/srv/rsp', XDG_RUNTIME_DIR: privateXdg },
      path: '/opt/rsp',
      source: 'option',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const base = resolveRuntimeBase({ runtimeDir: c.runtimeDir, env: c.env });
      assert.equal(base.path, c.path);
      assert.equal(base.source, c.source);
      if (c.warning) assert.match(base.warning ?? '', c.warning);
      else assert.equal(base.warning, undefined);
    });
  }

  test('an empty or hostile runtime dir is refused', () => {
    for (const runtimeDir of ['', '  ', '/tmp/a\0b', '/tmp/a\nb']) {
      assert.throws(() => resolveRuntimeBase({ runtimeDir, env: {} }), { code: 'EINVALIDOPTION' });
    }
  });
});

describe('validateInstanceName', () => {
  for (const name of ['default', 'a', 'my-project_2.1', 'x'.repeat(32)]) {
    test(`accepts ${JSON.stringify(name)}`, () => assert.equal(validateInstanceName(name), name));
  }
  for (const name of [
    '',
    '.',
    '..',
    '../etc',
    'a/b',
    'x'.repeat(33),
    'a b',
    'naïve',
    'a\nb',
    'a\0b',
  ]) {
    test(`refuses ${JSON.stringify(name)}`, () =>
      assert.throws(() => validateInstanceName(name), {
        code: 'EINVALIDOPTION',
        message: /instance name/,
      }));
  }
});

describe('ensureInstanceDir', () => {
  test('creates <base>/<instance> private, base included', async () => {
    const root = makeTempDir();
    const runtimeDir = join(root, 'base');
    const instance = await ensureInstanceDir({ runtimeDir, instance: 'lab', env: {} });
    assert.equal(instance.path, join(runtimeDir, 'lab'));
    assert.equal(statSync(runtimeDir).mode & 0o777, 0o700);
    assert.equal(statSync(instance.path).mode & 0o777, 0o700);
  });

  test('refuses a base another program left open', async () => {
    const runtimeDir = join(makeTempDir(), 'open');
    mkdirSync(runtimeDir, { mode: 0o755 });
    chmodSync(runtimeDir, 0o755);
    await assert.rejects(ensureInstanceDir({ runtimeDir, env: {} }), { code: 'ENOTPRIVATE' });
  });
});
