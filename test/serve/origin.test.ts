import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSameOrigin } from '../../lib/serve/origin.js';

test('isSameOrigin: as browsers serialise origins; an https front passing Host is ours', () => {
  const cases: [string, string, boolean][] = [
    ['http://localhost:8787', 'http://localhost:8787', true],
    ['http://LOCALHOST:8787', 'http://localhost:8787', true],
    ['http://localhost', 'http://localhost:80', true],
    ['http://[::1]:8787', 'http://[::1]:8787', true],
    ['https://rstudio.example.org', 'http://rstudio.example.org', true],
    ['https://localhost:8787', 'http://localhost:8787', true],
    ['http://localhost:8788', 'http://localhost:8787', false],
    ['http://127.0.0.1:8787', 'http://localhost:8787', false],
    ['http://evil.example', 'http://localhost:8787', false],
    ['null', 'http://localhost:8787', false],
    ['', 'http://localhost:8787', false],
    ['http://localhost:8787/', 'http://localhost:8787', false],
    ['http://localhost:8787', 'https://localhost:8787', false],
    ['ws://localhost:8787', 'http://localhost:8787', false],
  ];
  for (const [origin, front, same] of cases) {
    assert.equal(isSameOrigin(origin, front), same, `${origin} vs ${front}`);
  }
});
