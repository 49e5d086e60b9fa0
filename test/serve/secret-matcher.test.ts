// The token check compares in constant time whatever the lengths; a wrong token of any shape is
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
