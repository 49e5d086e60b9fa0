import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RSessionProxyError, isRSessionProxyError } from '../lib/index.js';

test('RSessionProxyError carries code, path, hint and cause', () => {
  const cause = new Error('EACCES');
  const error = new RSessionProxyError('ENOTPRIVATE', 'Refusing /x', {
    path: '/x',
    hint: 'Choose another directory.',
    cause,
  });
  assert.equal(error.code, 'ENOTPRIVATE');
  assert.equal(error.path, '/x');
  assert.equal(error.cause, cause);
  assert.equal(error.message, 'Refusing /x\nChoose another directory.');
  assert.ok(isRSessionProxyError(error, 'ENOTPRIVATE'));
  assert.ok(!isRSessionProxyError(error, 'ELOCKED'));
  assert.ok(!isRSessionProxyError(new Error('x')));
});
