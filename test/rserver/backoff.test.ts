import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countAfterRun, getRestartDelay, normalizeBackoff } from '../../lib/rserver/backoff.js';

const backoff = normalizeBackoff();

test('getRestartDelay: one crash is restarted at once, then 1 s, doubling up to 30 s', () => {
  const table: [number, number][] = [
    [0, 0],
    [1, 0],
    [2, 1000],
    [3, 2000],
    [4, 4000],
    [5, 8000],
    [6, 16_000],
    [7, 30_000],
    [50, 30_000],
    [10_000, 30_000],
  ];
  for (const [crashes, delay] of table) {
    assert.equal(getRestartDelay(crashes, backoff), delay, `${crashes} crashes`);
  }
  assert.equal(getRestartDelay(3, normalizeBackoff({ first: 100, max: 150 })), 150);
});

test('countAfterRun: a short run that crashed adds one; a long run starts the count again', () => {
  const table: [number, number, boolean, number][] = [
    // crashes before, ms from ready to exit, crashed, crashes after
    [0, 5, true, 1],
    [3, 59_999, true, 4],
    [3, 60_000, true, 1],
    [3, 5, false, 3],
    [3, 600_000, false, 0],
  ];
  for (const [before, ran, crashed, after] of table) {
    assert.equal(
      countAfterRun(before, ran, crashed, backoff),
      after,
      JSON.stringify([before, ran, crashed]),
    );
  }
});

test('normalizeBackoff: defaults, and a bad value named', () => {
  assert.deepEqual(backoff, { first: 1000, max: 30_000, resetAfter: 60_000 });
  for (const bad of [{ first: -1 }, { max: 1.5 }, { resetAfter: '1' as unknown as number }]) {
    assert.throws(() => normalizeBackoff(bad), {
      code: 'EINVALIDOPTION',
      message: new RegExp(`backoff\\.${Object.keys(bad)[0] ?? ''}`),
    });
  }
});
