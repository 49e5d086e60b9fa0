import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  SOCKET_PATH_MAX_BYTES,
  assertDataDirSocketLength,
  assertSocketPathLength,
  getDataDirSocketPath,
  removeStaleSocket,
} from '../../lib/index.js';
import { makeTempDir } from '../helpers/temp.js';

// A path of exactly `bytes` bytes inside `dir`.
function pathOfLength(dir: string, bytes: number, suffix = ''): string {
  const fill = bytes - Buffer.byteLength(`${dir}/`) - Buffer.byteLength(suffix);
  assert.ok(fill > 0, 'temp dir too long for this test');
  return `${dir}/${'s'.repeat(fill)}${suffix}`;
}

describe('socket path length', () => {
  const dir = makeTempDir('rsp-');

  test('107 bytes is accepted, and really works as a socket', async () => {
    const path = pathOfLength(dir, SOCKET_PATH_MAX_BYTES);
    assertSocketPathLength(path);
    const server = createServer((socket) => socket.end('ok'));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(path);
        let data = '';
        socket.on('data', (chunk) => (data += String(chunk)));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
      assert.equal(answer, 'ok');
      assert.ok(statSync(path).isSocket());
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('108 bytes is refused with the path, its length, the limit and a way out', () => {
    const path = pathOfLength(dir, SOCKET_PATH_MAX_BYTES + 1);
    assert.throws(
      () => assertSocketPathLength(path, 'rserver socket'),
      (error: Error) => {
        assert.equal((error as { code?: string }).code, 'EPATHTOOLONG');
        assert.ok(error.message.includes(`The rserver socket path ${path} is 108 bytes long`));
        assert.match(error.message, /limited to 107 bytes/);
        assert.match(error.message, /--runtime-dir/);
        return true;
      },
    );
  });

  test('multi-byte characters count in bytes, not characters', () => {
    const path = `${dir}/${'é'.repeat(60)}`;
    assert.ok(path.length <= SOCKET_PATH_MAX_BYTES);
    assert.throws(() => assertSocketPathLength(path), { code: 'EPATHTOOLONG' });
  });

  test("rserver's own data-dir socket: 107 bytes accepted, 108 refused", () => {
    const suffix = getDataDirSocketPath('/');
    const ok = pathOfLength(dir, SOCKET_PATH_MAX_BYTES, suffix).slice(0, -suffix.length);
    assert.equal(Buffer.byteLength(getDataDirSocketPath(ok)), SOCKET_PATH_MAX_BYTES);
    assertDataDirSocketLength(ok);
    assert.throws(() => assertDataDirSocketLength(`${ok}x`), {
      code: 'EPATHTOOLONG',
      message: /rserver data-dir socket path/,
    });
  });
});

describe('removeStaleSocket', () => {
  test('removes the socket a SIGKILLed server left behind', async () => {
    const path = join(makeTempDir(), 'stale.sock');
    const script = `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
    spawnSync(process.execPath, ['-e', script]);
    assert.ok(statSync(path).isSocket(), 'the killed server left its socket');
    assert.equal(await removeStaleSocket(path), true);
    assert.throws(() => statSync(path), { code: 'ENOENT' });
  });

  test('reports false when nothing is there', async () => {
    assert.equal(await removeStaleSocket(join(makeTempDir(), 'none.sock')), false);
  });

  test('refuses a regular file or a directory at the socket path, and keeps it', async () => {
    const root = makeTempDir();
    const file = join(root, 'file.sock');
    writeFileSync(file, 'data');
    await assert.rejects(removeStaleSocket(file), { code: 'ENOTPRIVATE', message: /not a socket/ });
    assert.equal(statSync(file).size, 4);
    const sub = join(root, 'dir.sock');
    mkdirSync(sub);
    chmodSync(sub, 0o700);
    await assert.rejects(removeStaleSocket(sub), { code: 'ENOTPRIVATE' });
    assert.ok(statSync(sub).isDirectory());
  });
});
