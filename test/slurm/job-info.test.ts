// The pure parts of following a Slurm job: squeue's lines and durations, and what is said about
// a job waiting, running and ended; the environment Slurm's tools run in.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hasEnded, parseDuration, parseJobLine, type JobInfo } from '../../lib/slurm/job-info.js';
import {
  describeEnd,
  describeRunning,
  describeWaiting,
  formatClock,
  formatDuration,
} from '../../lib/slurm/job-messages.js';
import { getSlurmClientEnv } from '../../lib/slurm/slurm-env.js';

describe('squeue, read', () => {
  test('durations: [days-][hours:]minutes:seconds, and none', () => {
    const table: [string, number | undefined][] = [
      ['0:41', 41],
      ['4:58', 298],
      ['3:59:58', 14_398],
      ['1-02:03:04', 93_784],
      ['UNLIMITED', undefined],
      ['NOT_SET', undefined],
      ['INVALID', undefined],
      ['', undefined],
    ];
    for (const [text, seconds] of table) assert.equal(parseDuration(text), seconds, text);
  });

  test('a line per job, as printed by this cluster (Slurm 22.05)', () => {
    const running = parseJobLine(
      '5|RUNNING|None|vm|4:58|2026-12-01T09:49:01|2026-12-01T09:49:01|2026-12-01T09:54:01|994|vm|rsession-proxy-default',
    );
    assert.deepEqual(running, {
      id: '5',
      state: 'RUNNING',
      reason: 'None',
      nodes: 'vm',
      timeLeftSeconds: 298,
      submittedAt: new Date('2026-12-01T09:49:01'),
      startedAt: new Date('2026-12-01T09:49:01'),
      endsAt: new Date('2026-12-01T09:54:01'),
      uid: 994,
      batchHost: 'vm',
      name: 'rsession-proxy-default',
    });
    const pending = parseJobLine(
      '7|PENDING|Priority||UNLIMITED|2026-12-01T09:49:01|N/A|N/A|994|n/a|a|b',
    );
    assert.equal(pending?.nodes, undefined);
    assert.equal(pending?.batchHost, undefined);
    assert.equal(pending?.startedAt, undefined);
    assert.equal(pending?.timeLeftSeconds, undefined);
    assert.equal(pending?.name, 'a|b', 'a name may hold the separator');
    for (const bad of [
      '',
      'slurm_load_jobs error: Invalid job id specified',
      'x|RUNNING|None|vm|1:00|||| 1|vm|n',
      '5|running|None|vm|1:00|||| 1|vm|n',
      '5|RUNNING|None|vm|1:00||||root|vm|n',
    ]) {
      assert.equal(parseJobLine(bad), undefined, bad);
    }
  });

  test('which states are over', () => {
    for (const state of [
      'CANCELLED',
      'COMPLETED',
      'FAILED',
      'TIMEOUT',
      'NODE_FAIL',
      'PREEMPTED',
      'OUT_OF_MEMORY',
    ]) {
      assert.equal(hasEnded(state), true, state);
    }
    for (const state of [
      'PENDING',
      'RUNNING',
      'COMPLETING',
      'CONFIGURING',
      'SUSPENDED',
      'REQUEUED',
    ]) {
      assert.equal(hasEnded(state), false, state);
    }
  });
});

describe('what is said about a job', () => {
  const job = (fields: Partial<JobInfo>): JobInfo => ({
    id: '12345',
    state: 'PENDING',
    reason: 'None',
    nodes: undefined,
    timeLeftSeconds: undefined,
    submittedAt: undefined,
    startedAt: undefined,
    endsAt: undefined,
    uid: 1000,
    batchHost: undefined,
    name: 'rsession-proxy-default',
    ...fields,
  });
  const now = new Date('2026-12-01T14:05:00');

  test('durations and clock times as a user reads them', () => {
    const table: [number, string][] = [
      [0, '0:00'],
      [41, '0:41'],
      [723, '12:03'],
      [3723, '1:02:03'],
      [14_398, '3:59:58'],
      [176_523, '2-01:02:03'],
      [-5, '0:00'],
    ];
    for (const [seconds, text] of table) assert.equal(formatDuration(seconds), text);
    assert.equal(formatClock(new Date('2026-12-01T14:02:31'), now), '14:02');
    assert.equal(formatClock(new Date('2026-11-30T09:07:00'), now), '2026-11-30 09:07');
  });

  test('waiting, running, ended', () => {
    const submittedAt = new Date('2026-12-01T14:04:19');
    assert.equal(
      describeWaiting(job({ reason: 'Priority', submittedAt }), now),
      'job 12345 pending (Priority), 0:41 in the queue',
    );
    assert.equal(describeWaiting(job({}), now), 'job 12345 pending');
    assert.equal(
      describeRunning(job({ state: 'RUNNING', nodes: 'node042', timeLeftSeconds: 14_398 })),
      'job 12345 running on node042 (time left 3:59:58)',
    );
    assert.equal(
      describeRunning(job({ state: 'RUNNING', nodes: 'node042' })),
      'job 12345 running on node042 (no time limit)',
    );
    const endsAt = new Date('2026-12-01T14:02:10');
    const table: [Partial<JobInfo>, string][] = [
      [{ state: 'CANCELLED', endsAt }, 'your RStudio job 12345 ended: CANCELLED at 14:02'],
      [
        { state: 'TIMEOUT', reason: 'TimeLimit', endsAt },
        'your RStudio job 12345 ended: TIMEOUT (its time limit) at 14:02',
      ],
      [
        { state: 'FAILED', reason: 'NonZeroExitCode', endsAt },
        'your RStudio job 12345 ended: FAILED (NonZeroExitCode) at 14:02',
      ],
      [{ state: 'NODE_FAIL' }, 'your RStudio job 12345 ended: NODE_FAIL (its node failed)'],
    ];
    for (const [fields, text] of table) assert.equal(describeEnd(job(fields), now), text);
  });
});

test("Slurm's tools run without the variables of an allocation the user is inside", () => {
  const env = getSlurmClientEnv({
    PATH: '/usr/bin',
    SLURM_CONF: '/etc/slurm/slurm.conf',
    SLURM_CLUSTERS: 'big',
    SLURM_JOB_ID: '777',
    SLURM_NTASKS: '8',
    SLURM_CPUS_PER_TASK: '4',
    SLURM_MEM_PER_CPU: '100',
    SBATCH_ACCOUNT: 'lab',
  });
  assert.deepEqual(env, {
    PATH: '/usr/bin',
    SLURM_CONF: '/etc/slurm/slurm.conf',
    SLURM_CLUSTERS: 'big',
    SBATCH_ACCOUNT: 'lab',
  });
});
