import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getDescendants, type ProcessEntry } from '../lib/process-tree.js';
import { parseProcStat } from '../lib/proc.js';

const entry = (pid: number, ppid: number): ProcessEntry => ({
  pid,
  ppid,
  pgrp: pid,
  session: pid,
  startTime: 1,
  state: 'S',
  uid: 0,
});

test('getDescendants walks the whole tree below a pid, and nothing else', () => {
  const processes = [
    entry(1, 0),
    entry(10, 1),
    entry(11, 10),
    entry(12, 10),
    entry(13, 12),
    entry(20, 1),
  ];
  assert.deepEqual(
    getDescendants(10, processes)
      .map((p) => p.pid)
      .sort(),
    [11, 12, 13],
  );
  assert.deepEqual(getDescendants(13, processes), []);
});

test('parseProcStat reads fields after a command name with spaces and parentheses', () => {
  const text =
    '4242 (rs (a) b) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1000 100';
  assert.deepEqual(parseProcStat(text), {
    pid: 4242,
    state: 'S',
    ppid: 1,
    pgrp: 4242,
    session: 4242,
    startTime: 987654,
  });
  assert.equal(parseProcStat('garbage'), undefined);
});
