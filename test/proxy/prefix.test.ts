import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { routeRequest, toOriginForm } from '../../lib/proxy/prefix.js';
import { normalizePrefix } from '../../lib/url-prefix.js';

describe('normalizePrefix', () => {
  const cases: [string, string][] = [
    ['', ''],
    ['/', ''],
    ['rstudio', '/rstudio'],
    ['/rstudio', '/rstudio'],
    ['/rstudio/', '/rstudio'],
    ['//user//alice//rstudio//', '/user/alice/rstudio'],
    ['/user/a%40b/rstudio', '/user/a%40b/rstudio'],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(normalizePrefix(input), expected);
    });
  }

  for (const bad of ['/a?b', '/a#b', '/a b', '/../x', '/a/./b', '/a\\b', '/a\nb']) {
    test(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(() => normalizePrefix(bad), { code: 'EINVALIDOPTION', message: /`prefix`/ });
    });
  }
});

describe('toOriginForm', () => {
  const cases: [string, string | undefined][] = [
    ['/x?y=1', '/x?y=1'],
    ['//evil.example/x', '//evil.example/x'],
    ['http://evil.example/x?y', '/x?y'],
    ['https://evil.example', '/'],
    ['http://evil.example?q', '/?q'],
    ['*', undefined],
    ['evil.example:443', undefined],
    ['', undefined],
  ];
  for (const [target, expected] of cases) {
    test(`${JSON.stringify(target)} → ${String(expected)}`, () => {
      assert.equal(toOriginForm(target), expected);
    });
  }
});

describe('routeRequest', () => {
  const cases: [string, string, ReturnType<typeof routeRequest>][] = [
    ['/x?a=1', '', { kind: 'proxy', path: '/x?a=1' }],
    ['/rstudio/', '/rstudio', { kind: 'proxy', path: '/' }],
    ['/rstudio/rpc/x?y', '/rstudio', { kind: 'proxy', path: '/rpc/x?y' }],
    ['/rstudio/rstudio/x', '/rstudio', { kind: 'proxy', path: '/rstudio/x' }],
    ['/rstudio', '/rstudio', { kind: 'redirect', location: '/rstudio/' }],
    ['/rstudio?a=1', '/rstudio', { kind: 'redirect', location: '/rstudio/?a=1' }],
    ['/rstudiox/', '/rstudio', { kind: 'outside' }],
    ['/other/rstudio/', '/rstudio', { kind: 'outside' }],
    ['/RStudio/', '/rstudio', { kind: 'outside' }],
    ['/', '/rstudio', { kind: 'outside' }],
    ['http://evil.example/rstudio/x', '/rstudio', { kind: 'proxy', path: '/x' }],
    ['*', '/rstudio', { kind: 'invalid' }],
  ];
  for (const [target, prefix, expected] of cases) {
    test(`${target} under ${JSON.stringify(prefix)} → ${expected.kind}`, () => {
      assert.deepEqual(routeRequest(target, prefix), expected);
    });
  }
});
