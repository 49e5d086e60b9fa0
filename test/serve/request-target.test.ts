import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getQueryParam, parseTarget, removeQueryParam } from '../../lib/serve/request-target.js';

test('parseTarget: a path and a query, or nothing for what is not a path', () => {
  const cases: [string | undefined, ReturnType<typeof parseTarget>][] = [
    ['/', { path: '/', query: '' }],
    ['/rstudio/?a=1&b', { path: '/rstudio/', query: 'a=1&b' }],
    ['/\\[?token', undefined],
    ['/\\x:99999/?%41', undefined],
    ['//evil.example/', undefined],
    ['http://evil.example/', undefined],
    ['*', undefined],
    ['localhost:80', undefined],
    ['', undefined],
    [undefined, undefined],
    ['/a?b?c', { path: '/a', query: 'b?c' }],
    ['/%zz/[x]?%', { path: '/%zz/[x]', query: '%' }],
  ];
  for (const [target, expected] of cases) assert.deepEqual(parseTarget(target), expected, target);
});

test('getQueryParam and removeQueryParam never throw and keep the rest as sent', () => {
  const cases: [string, string | undefined, string][] = [
    ['', undefined, ''],
    ['token=abc', 'abc', ''],
    ['a=1&token=abc&b=%zz', 'abc', 'a=1&b=%zz'],
    ['%74oken=abc', 'abc', ''],
    ['token=a%2Bb+c', 'a+b c', ''],
    ['token=%', '%', ''],
    ['token', '', ''],
    ['tokens=x&xtoken=y', undefined, 'tokens=x&xtoken=y'],
    ['token=1&token=2', '1', ''],
    ['%E0%A4%A=x&token=%ZZ', '%ZZ', '%E0%A4%A=x'],
    ['=&&token=&', '', '=&&'],
  ];
  for (const [query, value, rest] of cases) {
    assert.equal(getQueryParam(query, 'token'), value, query);
    assert.equal(removeQueryParam(query, 'token'), rest, query);
  }
});
