import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { generateToken, getTokenProblem, validateToken } from '../../lib/index.js';

test('weak tokens are refused with a way to make a good one', () => {
  const weak: [string, RegExp][] = [
    ['a'.repeat(16), /22 to 512 characters long, not 16/],
    ['a'.repeat(21), /not 21/],
    ['a'.repeat(22), /too easy to guess/],
    ['ab'.repeat(11), /too easy to guess/],
    ['abcd'.repeat(8), /too easy to guess/],
    ['abcdefghijklmnopqrstuvwxyz', /too easy to guess/],
    ['0123456789'.repeat(3), /too easy to guess/],
    ['aaaaaaaaaaaaaaaaaaaaab', /too easy to guess/],
    ['has space in it 1234567890', /URL-safe/],
    ['x'.repeat(513), /not 513/],
  ];
  for (const [token, problem] of weak) {
    assert.throws(
      () => validateToken(token, '--token'),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'EINVALIDOPTION');
        assert.match(error.message, problem, token);
        assert.match(error.message, /^The token from --token /);
        assert.match(error.message, /openssl rand -base64 32/);
        assert.equal(error.message.split('\n').length, 1, 'one line for the CLI');
        return true;
      },
    );
  }
});

test('random tokens of every usual kind pass, generated ones always', () => {
  const kinds = [
    () => generateToken(),
    () => randomBytes(17).toString('base64url').slice(0, 22),
    () => randomBytes(32).toString('base64'),
    () => randomBytes(16).toString('hex'),
    () => randomUUID(),
  ];
  for (const make of kinds) {
    for (let i = 0; i < 2000; i++) {
      const token = make();
      assert.equal(getTokenProblem(token), undefined, token);
    }
  }
  for (const chosen of ['owner-secret-token-0123456789abcdef', 'correct-horse-battery-staple']) {
    assert.equal(validateToken(chosen, 'a test'), chosen);
  }
  assert.equal(Buffer.from(generateToken(), 'base64url').length, 32);
});
