import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createFixedBackend,
  createProxyAdapter,
  type ProxyAdapterOptions,
} from '../../lib/index.js';
import { normalizeAdapterOptions } from '../../lib/proxy/options.js';

describe('normalizeAdapterOptions', () => {
  test('defaults', () => {
    const options = normalizeAdapterOptions({ backend: '/tmp/x/rserver.sock' });
    assert.equal(options.prefix, undefined);
    assert.equal(options.trustProxy, false);
    assert.equal(options.startTimeout, 60_000);
    assert.equal(options.proxyTimeout, 3_600_000);
    assert.equal(options.authorize, undefined);
    assert.equal(options.backend.state, 'running');
  });

  test('a socket path becomes a Backend that is always running', async () => {
    const backend = createFixedBackend('/tmp/x/rserver.sock');
    assert.equal(backend.state, 'running');
    assert.deepEqual(await backend.ensureRunning(), { socketPath: '/tmp/x/rserver.sock' });
  });

  const bad: [string, ProxyAdapterOptions, RegExp][] = [
    [
      'relative socket path',
      { backend: 'rserver.sock' },
      /`backend` to be an absolute socket path/,
    ],
    ['not a backend', { backend: {} as unknown as string }, /`backend` to be a Backend/],
    ['socket path too long', { backend: `/tmp/${'x'.repeat(120)}` }, /limited to 107 bytes/],
    ['prefix', { backend: '/s', prefix: '/a?b' }, /`prefix`/],
    [
      'startTimeout 0',
      { backend: '/s', startTimeout: 0 },
      /`startTimeout` to be a positive integer/,
    ],
    ['proxyTimeout -1', { backend: '/s', proxyTimeout: -1 }, /`proxyTimeout` to be a non-negative/],
    [
      'trustProxy string',
      { backend: '/s', trustProxy: 'yes' as unknown as boolean },
      /`trustProxy` to be a boolean/,
    ],
    [
      'authorize',
      { backend: '/s', authorize: true as unknown as () => boolean },
      /`authorize` to be a function/,
    ],
  ];
  for (const [name, options, message] of bad) {
    test(`refuses ${name}`, () => {
      assert.throws(
        () => createProxyAdapter(options),
        (error: Error & { code?: string }) => {
          assert.ok(error.code === 'EINVALIDOPTION' || error.code === 'EPATHTOOLONG', error.code);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }
});
