// The idle timeout's log line says how long there was no traffic in a unit that shows it: an
// idle timeout of 0.05 minutes is "3 s", not "0 min".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIdleTime } from '../../lib/serve/status-ticker.js';

test('formatIdleTime: seconds below a minute, minutes with one decimal above', () => {
  for (const [ms, text] of [
    [0.05 * 60_000, '3 s'],
    [1500, '1.5 s'],
    [250, '0.3 s'],
    [12_400, '12 s'],
    [59_000, '59 s'],
    [60_000, '1 min'],
    [90_000, '1.5 min'],
    [120 * 60_000, '120 min'],
  ] as const) {
    assert.equal(formatIdleTime(ms), text, `${ms} ms`);
  }
});
