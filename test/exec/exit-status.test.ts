import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getSignalExitStatus } from '../../lib/index.js';

test('getSignalExitStatus: 128 + the signal number, never 0', () => {
  const table: [NodeJS.Signals, number][] = [
    ['SIGHUP', 129],
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ];
  for (const [signal, status] of table) assert.equal(getSignalExitStatus(signal), status, signal);
});
