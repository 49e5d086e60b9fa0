// The token check compares in constant time, without telling the secret's length; a wrong token of any shape is
// refused and only the exact one passes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSecretMatcher } from '../../lib/serve/auth.js';

const SECRET = 'k3J9-xQ2_vLm8PzR4tYwA1bC';

test('only the exact secret matches', () => {
  const matches = createSecretMatcher(SECRET);
  assert.equal(matches(SECRET), true);
  for (const given of ['', SECRET.slice(0, -1), `${SECRET}x`, SECRET.toUpperCase(), ` ${SECRET}`]) {
    assert.equal(matches(given), false, JSON.stringify(given));
  }
});

test('a guess of the secret’s length, or of its characters in another encoding, is refused', () => {
  const matches = createSecretMatcher(SECRET);
  const sameLength = [
    `${SECRET.slice(0, -1)}x`,
    `x${SECRET.slice(1)}`,
    'a'.repeat(SECRET.length),
    // As many characters, more bytes: compared as bytes, never as a prefix of the secret's.
    `${SECRET.slice(0, -1)}é`,
    // Node.js reads header bytes as latin1: a byte above 0x7f is a character of two UTF-8 bytes.
    Buffer.from(SECRET).toString('latin1').replace(/.$/, '\u00ff'),
  ];
  for (const given of sameLength) assert.equal(matches(given), false, JSON.stringify(given));
  // The same secret in a string of its own (a header is parsed into a new string each time).
  assert.equal(matches(Buffer.from(SECRET).toString('latin1')), true);
});
