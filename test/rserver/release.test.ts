import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compareReleases,
  formatRelease,
  getReleaseNeeds,
  parseRelease,
  type Release,
} from '../../lib/rserver/release.js';

describe('parseRelease', () => {
  const cases: [string | undefined, Release | undefined][] = [
    ['2022.07.2+576 (Spotted Wakerobin) for Ubuntu Jammy', [2022, 7, 2]],
    ['2024.12.1+563 (Test Double) for Linux', [2024, 12, 1]],
    ['1.4.1717', [1, 4, 1717]],
    ['RStudio Server v1.3.1093', [1, 3, 1093]],
    ['2026.05.0-daily+123', [2026, 5, 0]],
    ['', undefined],
    [undefined, undefined],
    ['unknown', undefined],
    ['build 12', undefined],
  ];
  for (const [text, expected] of cases) {
    test(`${JSON.stringify(text)} → ${JSON.stringify(expected)}`, () =>
      assert.deepEqual(parseRelease(text), expected));
  }
});

describe('compareReleases and formatRelease', () => {
  test('orders by year, month, patch', () => {
    assert.ok(compareReleases([2022, 7, 2], [2022, 12, 0]) < 0);
    assert.ok(compareReleases([2026, 8, 0], [2026, 7, 9]) > 0);
    assert.equal(compareReleases([1, 4, 1717], [1, 4, 1717]), 0);
  });
  test('pads the month of calendar releases only', () => {
    assert.equal(formatRelease([2022, 7, 2]), '2022.07.2');
    assert.equal(formatRelease([1, 4, 1717]), '1.4.1717');
  });
});

describe('getReleaseNeeds', () => {
  const withSocket = new Set(['www-socket']);
  const tcpOnly = new Set<string>();
  const cases: {
    version: string | undefined;
    options: ReadonlySet<string>;
    sharedTmp: boolean;
    rpcKeyInConfigDir: boolean;
  }[] = [
    { version: '1.4.1717', options: tcpOnly, sharedTmp: true, rpcKeyInConfigDir: false },
    { version: '2022.07.2+576', options: tcpOnly, sharedTmp: true, rpcKeyInConfigDir: false },
    { version: '2022.12.0+353', options: tcpOnly, sharedTmp: false, rpcKeyInConfigDir: false },
    { version: '2024.04.2+764', options: tcpOnly, sharedTmp: false, rpcKeyInConfigDir: false },
    { version: '2024.12.1+563', options: withSocket, sharedTmp: false, rpcKeyInConfigDir: false },
    { version: '2026.04.9+1', options: withSocket, sharedTmp: false, rpcKeyInConfigDir: false },
    { version: '2026.05.0+1', options: withSocket, sharedTmp: false, rpcKeyInConfigDir: true },
    { version: '2026.07.3+9', options: withSocket, sharedTmp: false, rpcKeyInConfigDir: true },
    { version: '2026.08.0+1', options: withSocket, sharedTmp: false, rpcKeyInConfigDir: false },
    // An unknown release without --www-socket may be one that shares /tmp: assume it does.
    { version: 'custom build', options: tcpOnly, sharedTmp: true, rpcKeyInConfigDir: false },
    { version: undefined, options: withSocket, sharedTmp: false, rpcKeyInConfigDir: false },
  ];
  for (const c of cases) {
    test(`${String(c.version)}${c.options.size ? '' : ' (no --www-socket)'}`, () => {
      const needs = getReleaseNeeds(c);
      assert.equal(needs.sharedTmp, c.sharedTmp, 'sharedTmp');
      assert.equal(needs.rpcKeyInConfigDir, c.rpcKeyInConfigDir, 'rpcKeyInConfigDir');
    });
  }
  for (const version of ['1.3.1093', '1.2.5042', '0.99.903']) {
    test(`${version} is refused with the reason`, () =>
      assert.throws(() => getReleaseNeeds({ version, options: tcpOnly }), {
        code: 'ERSERVERTOOOLD',
        message: /supports 1\.4 and later.*CSRF token/,
      }));
  }
});
