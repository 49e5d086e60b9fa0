import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { normalizeLaunchOptions, normalizeRootPath } from '../../lib/index.js';

describe('normalizeRootPath', () => {
  const cases: [string, string][] = [
    ['/', '/'],
    ['', '/'],
    ['rstudio', '/rstudio/'],
    ['/rstudio', '/rstudio/'],
    ['/user/alice/rstudio/', '/user/alice/rstudio/'],
    ['//a//', '/a/'],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} → ${expected}`, () =>
      assert.equal(normalizeRootPath(input), expected));
  }
  for (const bad of ['/a/../b/', '/a b/', '/a?x', '/a#x', '/a\n', '/a%2e%2e/', '\0']) {
    test(`refuses ${JSON.stringify(bad)}`, () =>
      assert.throws(() => normalizeRootPath(bad), { code: 'EINVALIDOPTION', message: /rootPath/ }));
  }
});

describe('normalizeLaunchOptions', () => {
  test('defaults', () => {
    const o = normalizeLaunchOptions({ env: {} });
    assert.equal(o.instance.name, 'default');
    assert.equal(o.rootPath, '/');
    assert.equal(o.frameOrigin, 'same');
    assert.equal(o.timeout, 30_000);
    assert.equal(o.stopTimeout, 5000);
    assert.equal(o.threadPoolSize, undefined);
    assert.deepEqual(o.extraArgs, []);
  });

  test('a relative R path is made absolute: rserver runs R from its own working directory', () => {
    assert.equal(normalizeLaunchOptions({ env: {}, r: './bin/R' }).r, resolve('bin/R'));
  });

  test("jupyter-rsession-proxy's environment knobs keep working", () => {
    const o = normalizeLaunchOptions({
      env: {
        RSERVER_TIMEOUT: '15',
        JUPYTER_RSESSION_PROXY_WWW_FRAME_ORIGIN: 'any',
        JUPYTER_RSESSION_PROXY_THREAD_POOL_SIZE: '6',
      },
    });
    assert.equal(o.timeout, 15_000);
    assert.equal(o.frameOrigin, 'any');
    assert.equal(o.threadPoolSize, 6);
  });

  test('options win over the environment', () => {
    const o = normalizeLaunchOptions({
      timeout: 1000,
      frameOrigin: 'none',
      threadPoolSize: 2,
      env: { RSERVER_TIMEOUT: '15', JUPYTER_RSESSION_PROXY_WWW_FRAME_ORIGIN: 'any' },
    });
    assert.deepEqual([o.timeout, o.frameOrigin, o.threadPoolSize], [1000, 'none', 2]);
  });

  const bad: [string, Parameters<typeof normalizeLaunchOptions>[0], RegExp][] = [
    ['RSERVER_TIMEOUT not a number', { env: { RSERVER_TIMEOUT: 'soon' } }, /RSERVER_TIMEOUT/],
    ['negative timeout', { timeout: -1, env: {} }, /`timeout`/],
    ['thread pool 0', { threadPoolSize: 0, env: {} }, /`threadPoolSize`/],
    ['thread pool 1.5', { threadPoolSize: 1.5, env: {} }, /`threadPoolSize`/],
    ['frame origin with a path', { frameOrigin: 'https://a.org/x', env: {} }, /`frameOrigin`/],
    ['empty rserver path', { rserver: '', env: {} }, /`rserver`/],
    ['socket path with a newline', { socketPath: '/tmp/a\nb', env: {} }, /`socketPath`/],
    [
      'extra arg overriding the socket',
      { extraArgs: ['--www-socket=/tmp/x'], env: {} },
      /--www-socket/,
    ],
    ['extra arg overriding the port', { extraArgs: ['--www-port', '80'], env: {} }, /--www-port/],
    ['extra arg overriding auth', { extraArgs: ['--auth-none=0'], env: {} }, /--auth-none/],
  ];
  for (const [name, options, message] of bad) {
    test(`refuses ${name}`, () =>
      assert.throws(() => normalizeLaunchOptions(options), { code: 'EINVALIDOPTION', message }));
  }
});
