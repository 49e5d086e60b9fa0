// The one-node Slurm cluster the Slurm tests stand on, checked for what they rely on: real
// users submit and their jobs run, a full node makes the next job wait for Resources, scancel
// ends a job visibly, and one user cannot step into or cancel another user's job.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { slurmSkipReason, useSlurmCluster } from '../helpers/slurm-cluster.js';
import { useUsers } from '../helpers/users.js';

describe('a one-node Slurm cluster for the tests', { skip: slurmSkipReason }, () => {
  const slurm = useSlurmCluster();
  const users = useUsers('owner', 'other');

  test('comes up with its node idle', async (t) => {
    const { cluster } = slurm;
    t.diagnostic(`cluster start: ${cluster.startMs} ms (daemons started to node idle)`);
    const { code, stdout } = await cluster.run('sinfo', ['-h', '-n', cluster.node, '-o', '%T %c']);
    assert.equal(code, 0);
    assert.equal(stdout.trim(), `idle ${cluster.cpus}`);
  });

  test("a user's batch job runs, and scancel ends it as CANCELLED", async () => {
    const { cluster } = slurm;
    const workDir = cluster.makeUserDir(users.owner, `${users.owner.name}-run`);
    const jobId = await cluster.submit(users.owner, workDir, ['--wrap=sleep 300']);
    assert.match(jobId, /^\d+$/);
    await cluster.waitForState(jobId, 'RUNNING');

    const cancelled = await cluster.run('scancel', [jobId], users.owner);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    await cluster.waitForState(jobId, 'CANCELLED');
    // A plain `squeue -j` stops listing a job once it has ended; `-t all` still shows it.
    const plain = await cluster.run('squeue', ['-h', '-j', jobId, '-o', '%T']);
    assert.equal(plain.stdout.trim(), '');
  });

  test('a job that holds every CPU makes the next one wait for Resources', async () => {
    const { cluster } = slurm;
    const workDir = cluster.makeUserDir(users.owner, `${users.owner.name}-full`);
    const full = await cluster.submit(users.owner, workDir, [
      `--cpus-per-task=${cluster.cpus}`,
      '--wrap=sleep 300',
    ]);
    await cluster.waitForState(full, 'RUNNING');
    const next = await cluster.submit(users.owner, workDir, ['--wrap=sleep 300']);
    // The reason is set by the scheduler's first pass over the job (None before it).
    const pending = await cluster.waitForState(next, 'PENDING', 'Resources');
    assert.deepEqual(pending, { state: 'PENDING', reason: 'Resources' });

    await cluster.run('scancel', [full], users.owner);
    await cluster.waitForState(next, 'RUNNING');
    await cluster.run('scancel', [next], users.owner);
    await cluster.waitForState(next, 'CANCELLED');
  });

  test("another user can neither step into nor cancel a user's job", async () => {
    const { cluster } = slurm;
    const workDir = cluster.makeUserDir(users.owner, `${users.owner.name}-victim`);
    const victim = await cluster.submit(users.owner, workDir, ['--wrap=sleep 300']);
    await cluster.waitForState(victim, 'RUNNING');

    const step = await cluster.run(
      'srun',
      [`--jobid=${victim}`, '--overlap', '--nodes=1', '--ntasks=1', 'true'],
      users.other,
    );
    assert.notEqual(step.code, 0);
    assert.match(step.stderr, /Access\/permission denied/);
    const cancel = await cluster.run('scancel', [victim], users.other);
    assert.notEqual(cancel.code, 0);
    assert.match(cancel.stderr, /Access\/permission denied/);
    assert.equal((await cluster.getJobState(victim)).state, 'RUNNING');

    // The owner can do both.
    const own = await cluster.run(
      'srun',
      [`--jobid=${victim}`, '--overlap', '--nodes=1', '--ntasks=1', 'id', '-un'],
      users.owner,
    );
    assert.equal(own.code, 0, own.stderr);
    assert.equal(own.stdout.trim(), users.owner.name);
    await cluster.run('scancel', [victim], users.owner);
    await cluster.waitForState(victim, 'CANCELLED');
  });
});
