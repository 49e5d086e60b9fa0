import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  renameSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  SOCKET_PATH_MAX_BYTES,
  getDataDirSocketPath,
  normalizeInstanceOptions,
  openInstance,
  resolveInstanceLayout,
  resolveRuntimeBase,
  validateInstanceName,
} from '../../lib/index.js';
import { makeTempDir } from '../helpers/temp.js';

const uid = process.getuid?.() ?? 0;

describe('resolveRuntimeBase', () => {
  const privateXdg = makeTempDir();
  const openXdg = makeTempDir();
  chmodSync(openXdg, 0o755);
  const linkXdg = join(makeTempDir(), 'link');
  symlinkSync(privateXdg, linkXdg);
  const fallback = `/tmp/rsession-proxy-${uid}`;
  // TMPDIRs in directories another user could rename things in, and one as safe as /tmp.
  const worldWritable = join(makeTempDir(), 'scratch');
  mkdirSync(worldWritable, { mode: 0o777 });
  chmodSync(worldWritable, 0o777);
  const groupShared = join(makeTempDir(), 'group');
  mkdirSync(groupShared);
  chmodSync(groupShared, 0o2775);
  const othersOwn = join(makeTempDir(), 'theirs');
  mkdirSync(othersOwn, { mode: 0o755 });
  chownSync(othersOwn, 54_321, 54_321);
  const stickyRoot = join(makeTempDir(), 'sticky');
  mkdirSync(stickyRoot);
  chmodSync(stickyRoot, 0o1777);
  const linkToShared = join(makeTempDir(), 'tmp-link');
  symlinkSync(worldWritable, linkToShared);

  const cases: {
    name: string;
    runtimeDir?: string;
    env: NodeJS.ProcessEnv;
    path: string;
    source: string;
    warning?: RegExp;
  }[] = [
    { name: 'nothing set → /tmp', env: {}, path: fallback, source: 'tmp' },
    {
      name: 'private XDG_RUNTIME_DIR',
      env: { XDG_RUNTIME_DIR: privateXdg },
      path: join(privateXdg, 'rsession-proxy'),
      source: 'XDG_RUNTIME_DIR',
    },
    {
      name: 'XDG_RUNTIME_DIR with mode 0755 → /tmp, with a warning',
      env: { XDG_RUNTIME_DIR: openXdg },
      path: fallback,
      source: 'tmp',
      warning: /mode is 0755/,
    },
    {
      name: 'XDG_RUNTIME_DIR that is a symlink → /tmp',
      env: { XDG_RUNTIME_DIR: linkXdg },
      path: fallback,
      source: 'tmp',
      warning: /symbolic link/,
    },
    {
      name: 'relative XDG_RUNTIME_DIR → /tmp',
      env: { XDG_RUNTIME_DIR: 'run/user' },
      path: fallback,
      source: 'tmp',
      warning: /not an absolute path/,
    },
    {
      name: 'missing XDG_RUNTIME_DIR → /tmp',
      env: { XDG_RUNTIME_DIR: '/nonexistent/xdg' },
      path: fallback,
      source: 'tmp',
      warning: /cannot be read/,
    },
    {
      name: 'TMPDIR in a sticky root-owned directory (like /tmp) is used',
      env: { TMPDIR: stickyRoot },
      path: join(stickyRoot, `rsession-proxy-${uid}`),
      source: 'TMPDIR',
    },
    {
      name: 'TMPDIR in a world-writable directory → skipped, /tmp used',
      env: { TMPDIR: join(worldWritable, 'tmp') },
      path: fallback,
      source: 'tmp',
      warning: new RegExp(`${worldWritable} above it is not safe .*mode is 0777`),
    },
    {
      name: 'TMPDIR that is a world-writable directory → skipped',
      env: { TMPDIR: worldWritable },
      path: fallback,
      source: 'tmp',
      warning: /other users can write to it/,
    },
    {
      name: 'TMPDIR in a group-writable shared directory → skipped',
      env: { TMPDIR: groupShared },
      path: fallback,
      source: 'tmp',
      warning: /mode is 2775/,
    },
    {
      name: "TMPDIR in another user's directory → skipped",
      env: { TMPDIR: othersOwn },
      path: fallback,
      source: 'tmp',
      warning: /owned by uid 54321/,
    },
    {
      name: 'TMPDIR through a symlink into a world-writable directory → skipped',
      env: { TMPDIR: linkToShared },
      path: fallback,
      source: 'tmp',
      warning: new RegExp(`${worldWritable} above it is not safe`),
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
      if (c.warning) assert.match(base.warnings.join('\n'), c.warning);
      else assert.deepEqual(base.warnings, []);
    });
  }

  test('a runtime dir the user chose below an unsafe directory is refused, not replaced', () => {
    for (const [runtimeDir, env] of [
      [join(worldWritable, 'rsp'), {}],
      [undefined, { RSESSION_PROXY_RUNTIME_DIR: join(groupShared, 'rsp') }],
    ] as const) {
      assert.throws(() => resolveRuntimeBase({ runtimeDir, env }), {
        code: 'ENOTPRIVATE',
        message: /above it is not safe/,
      });
    }
  });

  test('an empty or hostile runtime dir is refused', () => {
    for (const runtimeDir of ['', '  ', '/tmp/a\0b', '/tmp/a\nb']) {
      assert.throws(() => resolveRuntimeBase({ runtimeDir, env: {} }), { code: 'EINVALIDOPTION' });
    }
  });
});

describe('resolveInstanceLayout', () => {
  // A 60-byte TMPDIR, as an HPC job's per-job one can be.
  const root = makeTempDir();
  const tmp60 = `${root}/${'t'.repeat(59 - root.length)}`;
  mkdirSync(tmp60);

  test('every socket of a 32-character instance fits under XDG_RUNTIME_DIR', (t) => {
    // As long as /run/user/1000.
    const xdg = mkdtempSync('/tmp/xdg');
    t.after(() => rmSync(xdg, { recursive: true, force: true }));
    assert.equal(xdg.length, '/run/user/1000'.length);
    const layout = resolveInstanceLayout(
      normalizeInstanceOptions({ instance: 'x'.repeat(32), env: { XDG_RUNTIME_DIR: xdg } }),
    );
    assert.equal(layout.base.source, 'XDG_RUNTIME_DIR');
    assert.ok(Buffer.byteLength(getDataDirSocketPath(layout.dataDir)) <= SOCKET_PATH_MAX_BYTES);
  });

  for (const [name, options] of [
    ['a 60-byte TMPDIR', { env: { TMPDIR: tmp60 } }],
    [
      'a 60-byte TMPDIR and a 32-character name',
      { instance: 'n'.repeat(32), env: { TMPDIR: tmp60 } },
    ],
    [
      'an exec socket and a 60-byte TMPDIR',
      { socketPath: join(tmp60, 'j', 'socket'), env: { TMPDIR: tmp60 } },
    ],
  ] as const) {
    test(`${name}: falls back to a shorter private base, saying so`, () => {
      assert.equal(Buffer.byteLength(tmp60), 60);
      const layout = resolveInstanceLayout(normalizeInstanceOptions(options));
      assert.equal(layout.base.path, `/tmp/rsession-proxy-${uid}`);
      assert.equal(layout.base.source, 'tmp');
      assert.match(
        layout.base.warnings.join('\n'),
        /too long.*\n.*Using the shorter private directory/s,
      );
      assert.ok(Buffer.byteLength(getDataDirSocketPath(layout.dataDir)) <= SOCKET_PATH_MAX_BYTES);
    });
  }

  test('a base the user pinned is not replaced when too long: the start says why', async () => {
    const runtimeDir = join(tmp60, 'pinned-base-directory');
    const layout = resolveInstanceLayout(
      normalizeInstanceOptions({ runtimeDir, instance: 'n'.repeat(32), env: {} }),
    );
    assert.equal(layout.base.path, runtimeDir);
    await assert.rejects(openInstance({ runtimeDir, instance: 'n'.repeat(32), env: {} }), {
      code: 'EPATHTOOLONG',
    });
    assert.equal(existsSync(runtimeDir), false, 'nothing was created');
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

describe('openInstance', () => {
  test('creates <base>/<instance> private, base included', async () => {
    const root = makeTempDir();
    const runtimeDir = join(root, 'base');
    const instance = await openInstance({ runtimeDir, instance: 'lab', env: {} });
    try {
      assert.equal(instance.layout.dir, join(runtimeDir, 'lab'));
      assert.equal(statSync(runtimeDir).mode & 0o777, 0o700);
      assert.equal(statSync(instance.layout.dir).mode & 0o777, 0o700);
    } finally {
      await instance.close();
    }
  });

  test('refuses a base another program left open', async () => {
    const runtimeDir = join(makeTempDir(), 'open');
    mkdirSync(runtimeDir, { mode: 0o755 });
    chmodSync(runtimeDir, 0o755);
    await assert.rejects(openInstance({ runtimeDir, env: {} }), { code: 'ENOTPRIVATE' });
  });

  test('an instance named after a socket leaves no directory when its socket is refused', async () => {
    const runtimeDir = join(makeTempDir(), 'base');
    const shared = join(makeTempDir(), 'shared');
    mkdirSync(shared, { mode: 0o755 });
    chmodSync(shared, 0o755);
    await assert.rejects(
      openInstance({ runtimeDir, socketPath: join(shared, 'socket'), env: {} }),
      {
        code: 'ENOTPRIVATE',
      },
    );
    assert.equal(existsSync(runtimeDir), false);
  });

  test('an instance named after a socket removes its directory when it closes', async () => {
    const runtimeDir = join(makeTempDir(), 'base');
    const socketDir = join(makeTempDir(), 'jsp');
    const instance = await openInstance({
      runtimeDir,
      socketPath: join(socketDir, 'socket'),
      env: {},
    });
    assert.equal(instance.layout.ephemeral, true);
    assert.match(instance.layout.name, /^s-[0-9a-f]{12}$/);
    assert.ok(existsSync(instance.layout.dir));
    await instance.close();
    assert.deepEqual(readdirSync(runtimeDir), []);
  });

  test('a named instance keeps its directory', async () => {
    const runtimeDir = join(makeTempDir(), 'base');
    const instance = await openInstance({ runtimeDir, instance: 'keep', env: {} });
    await instance.close();
    assert.deepEqual(readdirSync(runtimeDir), ['keep']);
  });

  test('verify() refuses a directory swapped after it was checked', async () => {
    const runtimeDir = join(makeTempDir(), 'base');
    const instance = await openInstance({ runtimeDir, instance: 'swap', env: {} });
    try {
      instance.verify();
      renameSync(instance.layout.dir, `${instance.layout.dir}.moved`);
      mkdirSync(instance.layout.dir, { mode: 0o700 });
      assert.throws(() => instance.verify(), { code: 'ENOTPRIVATE', message: /replaced/ });
    } finally {
      await instance.close();
    }
  });
});
