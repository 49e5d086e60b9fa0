import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeServeOptions, type ServeOptions } from '../../lib/index.js';

test('normalizeServeOptions: the defaults', () => {
  const options = normalizeServeOptions({});
  assert.equal(options.prefix, '/');
  assert.equal(options.headersTimeout, 60_000);
  assert.equal(options.unauthenticatedTimeout, 30_000);
  assert.equal(options.maxUnauthenticated, 1024);
  assert.equal(options.idleTimeout, 0);
  assert.deepEqual(options.allowHosts, []);
  assert.equal(options.trustProxy, false, 'forwarding headers are not believed by default');
  assert.equal(options.token.from, 'value');
  assert.equal(Buffer.from(options.token.token, 'base64url').length, 32);
  assert.equal(options.supervisor.rootPath, '/');
  assert.equal(options.strippedPrefix, undefined);
  assert.equal(options.hostCheck, true);
  assert.equal(options.trustProxy, false);
  assert.equal(options.kind, 'serve');
  assert.equal(options.probePath, undefined);
  assert.equal(options.checkRServer, true);
  assert.equal(normalizeServeOptions({ prefix: 'rstudio' }).prefix, '/rstudio/');
  assert.deepEqual(
    normalizeServeOptions({ token: false }).token,
    { from: 'none' },
    'the default listener is a Unix socket',
  );
});

test('normalizeServeOptions: every bad value is refused, naming the option', () => {
  const bad: [ServeOptions, RegExp][] = [
    [{ allowHosts: 'rstudio.example.org' as unknown as string[] }, /allowHosts/],
    [{ allowHosts: ['evil.example/path'] }, /allowHosts/],
    [{ allowHosts: ['host:80'] }, /allowHosts/],
    [{ idleTimeout: -1 }, /idleTimeout/],
    [{ idleTimeout: 1.5 }, /idleTimeout/],
    [{ idleTimeout: '60000' as unknown as number }, /idleTimeout/],
    [{ headersTimeout: 0 }, /headersTimeout/],
    [{ unauthenticatedTimeout: Number.NaN }, /unauthenticatedTimeout/],
    [{ maxUnauthenticated: 0 }, /maxUnauthenticated/],
    [{ token: 'a'.repeat(22) }, /token/],
    [{ token: 42 as unknown as string }, /token/],
    [
      { token: false, listen: { host: '127.0.0.1', port: 0 } },
      /only allowed with a Unix socket listener/,
    ],
    [{ prefix: '/a/../b' }, /prefix/],
    [{ rootPath: '/a b/' }, /rootPath/],
    [{ rootPath: 7 as unknown as string }, /rootPath/],
    [{ rootPath: '/user/a/rstudio/', prefix: '/rstudio/' }, /`rootPath` and `prefix`/],
    [{ hostCheck: 'no' as unknown as boolean }, /hostCheck/],
    [{ hostCheck: false, listen: { host: '127.0.0.1', port: 0 } }, /hostCheck: false.*Unix/],
    [{ trustProxy: 1 as unknown as boolean }, /trustProxy/],
    [{ trustProxy: 'yes' as unknown as boolean }, /trustProxy/],
  ];
  for (const [options, message] of bad) {
    assert.throws(
      () => normalizeServeOptions(options),
      { code: 'EINVALIDOPTION', message },
      JSON.stringify(options),
    );
  }
});

test('normalizeServeOptions: rootPath behind a proxy that strips its prefix', () => {
  const options = normalizeServeOptions({ rootPath: 'user/alice/rstudio', token: false });
  assert.equal(options.prefix, '/', 'routed without a prefix');
  assert.equal(options.supervisor.rootPath, '/user/alice/rstudio/', "rserver's root path");
  assert.equal(options.strippedPrefix, '/user/alice/rstudio/');
  assert.equal(normalizeServeOptions({ rootPath: '/' }).strippedPrefix, undefined);
  assert.equal(normalizeServeOptions({ hostCheck: false }).hostCheck, false);
  assert.equal(normalizeServeOptions({ trustProxy: true }).trustProxy, true);
});
