// `rsession-proxy slurm` against a real one-node Slurm, each case through the built CLI run by
// throw-away users, with the rserver double in the job. The login side and "the compute node"
// are this host: the login side's instance lives under its XDG_RUNTIME_DIR, the job's under
// /tmp (the job drops XDG_RUNTIME_DIR, as a real node lacks it). The cases after the first run
// side by side, each with a user of its own (so that "nothing of it remains" means that user
// has no process left), while the --time=1 case waits for its limit.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, DOUBLE_FLAGS } from '../helpers/cli.js';
import { waitUntil } from '../helpers/processes.js';
import { findRealR } from '../helpers/rserver-double.js';
import { signIn, fetchServed, type SignedIn } from '../helpers/served.js';
import {
  downloadHash,
  expectedDownloadHash,
  listInstanceJobs,
  prepareSlurmUser,
  processesOf,
  removeSlurmUserDirs,
  runCliAs,
  startSlurmCli,
  waitForNoProcesses,
  type RunningSlurm,
  type SlurmUser,
} from '../helpers/slurm-cli.js';
import { slurmSkipReason, useSlurmCluster, type SlurmCluster } from '../helpers/slurm-cluster.js';
import { closeWebSocket, nextMessage, openWebSocket } from '../helpers/ws-client.js';
import { useUsers } from '../helpers/users.js';

const PREFIX = '/rstudio/';
/** Declared to Slurm (bookkeeping only), so that the side-by-side cases never queue. */
const CPUS = 16;
const DOWNLOAD = 50 * 1024 * 1024;
const REAL_R = findRealR();

// The CLI's flags for a case: the double as rserver (real R when there is one), a TCP listener
// with a token, the prefix; then sbatch's options.
function slurmArgs(who: SlurmUser, instance: string, extra: string[], sbatch: string[] = []) {
  const r = REAL_R === undefined ? [] : [`--r=${REAL_R}`];
  return [
    ...DOUBLE_FLAGS,
    ...r,
    '--listen=127.0.0.1:0',
    `--prefix=${PREFIX}`,
    `--instance=${instance}`,
    ...extra,
    '--',
    `--chdir=${who.workDir}`,
    ...sbatch,
  ];
}

// A page load as a browser makes it: HTML preferred, the token in a header.
function loadPage(cli: RunningSlurm) {
  return fetchServed(cli, PREFIX, { headers: { accept: 'text/html' }, timeout: 30_000 });
}

interface StatusAnswer {
  state: string;
  job?: { id: string; state: string; node?: string; steps?: number; socket?: string };
}

async function getStatus(cli: RunningSlurm): Promise<StatusAnswer> {
  const answer = await fetchServed(cli, `${PREFIX}_rsession-proxy/status`);
  assert.equal(answer.status, 200, answer.body);
  return JSON.parse(answer.body) as StatusAnswer;
}

// The node's private directory of a job: under /tmp, named after the job.
function nodeDir(who: SlurmUser, jobId: string): string {
  return `/tmp/rsession-proxy-${who.user.uid}/slurm-${jobId}`;
}

describe('rsession-proxy slurm', { skip: slurmSkipReason }, () => {
  const slurm = useSlurmCluster({ cpus: CPUS });
  const users = useUsers('owner', 'other', 'again', 'attach', 'limit', 'missing');
  let cluster: SlurmCluster;
  const who: Record<string, SlurmUser> = {};

  before(() => {
    cluster = slurm.cluster;
    for (const [role, user] of Object.entries(users)) who[role] = prepareSlurmUser(cluster, user);
  });
  after(() => removeSlurmUserDirs(Object.values(who)));

  test('queue, RStudio through the login side, status, another user kept out, SIGTERM', async (t) => {
    const owner = who.owner as SlurmUser;
    const other = who.other as SlurmUser;
    // A job that takes every CPU makes ours wait for Resources.
    const blocker = await cluster.submit(owner.user, owner.workDir, [
      `--cpus-per-task=${CPUS}`,
      '--wrap=sleep 300',
    ]);
    await cluster.waitForState(blocker, 'RUNNING');
    const cli = await startSlurmCli(owner, slurmArgs(owner, 'main', [], ['--time=10']));
    await cli.waitFor(/job \d+ pending \(Resources\), \d+:\d\d in the queue/, 30_000);
    const jobId = cli.jobId();
    // The browser's starting page says the same, as a non-2xx answer.
    let page = await loadPage(cli);
    await waitUntil(
      async () => (page = await loadPage(cli)).body.includes('pending (Resources)'),
      30_000,
      'the starting page showing the wait',
    );
    assert.equal(page.status, 503);
    assert.match(
      page.body,
      new RegExp(`job ${jobId} pending \\(Resources\\), \\d+:\\d\\d in the queue`),
    );

    const queuedAt = Date.now();
    await cluster.run('scancel', [blocker], owner.user);
    await cli.waitFor(
      new RegExp(`job ${jobId} running on ${cluster.node} \\(time left \\d+:\\d\\d\\)`),
      60_000,
    );
    await cli.waitFor(/RStudio answered on /, 60_000);
    t.diagnostic(`from the blocker's end to RStudio answering: ${Date.now() - queuedAt} ms`);

    const session: SignedIn = await signIn(cli, PREFIX);
    if (REAL_R === undefined) {
      t.diagnostic('no R on PATH: R evaluation through the job is not tested here');
    } else {
      const evaluated = await fetchServed(cli, `${PREFIX}rpc/eval`, {
        method: 'POST',
        headers: {
          ...session.headers,
          'x-rs-csrf-token': session.csrf,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ method: 'eval', params: ['1+1'] }),
        timeout: 60_000,
      });
      assert.deepEqual(JSON.parse(evaluated.body), { result: { output: '[1] 2' } });
    }
    const ws = await openWebSocket(
      `${cli.origin.replace('http:', 'ws:')}${PREFIX}p/0a1b/terminal/1/`,
      [],
      session.headers,
      30_000,
    );
    ws.send('hello');
    assert.equal(await nextMessage(ws, 30_000), 'hello');
    ws.send(Buffer.from([0, 1, 2, 255]));
    assert.deepEqual(await nextMessage(ws, 30_000), Buffer.from([0, 1, 2, 255]));
    await closeWebSocket(ws);

    const download = await downloadHash(
      `${cli.origin}${PREFIX}export/big.bin?size=${DOWNLOAD}`,
      session.headers,
    );
    assert.equal(download.status, 200);
    assert.equal(download.bytes, DOWNLOAD);
    assert.equal(download.sha256, expectedDownloadHash(DOWNLOAD), '50 MiB intact');
    t.diagnostic(
      `50 MiB through the job step: ${(DOWNLOAD / 1e6 / (download.ms / 1000)).toFixed(1)} MB/s`,
    );

    // Warm connections are reused: page loads open no new step.
    await fetchServed(cli, PREFIX, { headers: session.headers });
    const before = (await getStatus(cli)).job?.steps;
    for (let i = 0; i < 3; i++) {
      const answer = await fetchServed(cli, PREFIX, { headers: session.headers });
      assert.equal(answer.status, 200, answer.body);
    }
    const status = await getStatus(cli);
    assert.equal(status.job?.steps, before, 'no new step for warm page loads');
    assert.equal(status.job?.id, jobId);
    assert.equal(status.job.state, 'RUNNING');
    const socket = status.job.socket ?? '';
    assert.ok(socket.startsWith(`${nodeDir(owner, jobId)}/`), socket);

    // `status` shows the job: id, node, state, time left.
    const listed = runCliAs(owner, ['status', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const instances = (
      JSON.parse(listed.stdout) as {
        instances: {
          instance: string;
          kind: string;
          running: boolean;
          job: Record<string, unknown>;
        }[];
      }
    ).instances;
    const main = instances.find((entry) => entry.instance === 'main');
    assert.equal(main?.kind, 'slurm');
    assert.equal(main.running, true);
    assert.equal(main.job.id, jobId);
    assert.equal(main.job.state, 'RUNNING');
    assert.equal(main.job.node, cluster.node);
    assert.ok(typeof main.job.timeLeftSeconds === 'number' && main.job.timeLeftSeconds > 500);
    const text = runCliAs(owner, ['status']);
    assert.match(
      text.stdout,
      new RegExp(
        `main \\(slurm\\): running, rserver running\\n  job: ${jobId} RUNNING on ${cluster.node}, time left \\d+:\\d\\d`,
      ),
    );

    // Another real user: Slurm refuses them a step into the job, the node's directory refuses
    // them the socket, and the owner's state directory refuses them the job.
    const step = await cluster.run(
      'srun',
      [
        `--jobid=${jobId}`,
        '--overlap',
        '--nodes=1',
        '--ntasks=1',
        process.execPath,
        CLI,
        'relay',
        `--socket=${socket}`,
      ],
      other.user,
    );
    assert.notEqual(step.code, 0);
    assert.match(step.stderr, /Access\/permission denied/);
    const direct = runCliAs(other, ['relay', `--socket=${socket}`]);
    assert.equal(direct.code, 1);
    assert.match(direct.stderr, /relay: permission denied connecting to /);
    const attach = await startSlurmCli(
      { ...other, env: { ...other.env, XDG_DATA_HOME: owner.dataDir } },
      slurmArgs(other, 'main', [], ['--time=10']),
    ).catch((error: unknown) => error as Error);
    assert.ok(attach instanceof Error, 'the other user got no listener');
    assert.match(attach.message, /Cannot use .*slurm|Refusing to use|permission denied/i);
    const stop = runCliAs({ ...other, env: { ...other.env, XDG_DATA_HOME: owner.dataDir } }, [
      'stop',
      '--instance=main',
    ]);
    assert.doesNotMatch(stop.stderr, /cancelled job/);
    assert.deepEqual(await listInstanceJobs(cluster, 'main'), [{ id: jobId, state: 'RUNNING' }]);
    assert.deepEqual(processesOf(other.user), []);

    // SIGTERM: the job is cancelled, Slurm reports it gone, nothing of it remains.
    const stopped = await cli.stop();
    assert.deepEqual(stopped, { code: 0, signal: null }, cli.stderr());
    assert.match(cli.stderr(), new RegExp(`cancelling job ${jobId}`));
    assert.match(cli.stderr(), new RegExp(`job ${jobId} cancelled; Slurm reports it gone`));
    assert.equal((await cluster.getJobState(jobId)).state, 'CANCELLED');
    await waitForNoProcesses(owner.user);
    assert.equal(existsSync(nodeDir(owner, jobId)), false, 'the node directory is gone');
  });

  describe('side by side', { concurrency: true }, () => {
    test('scancel from outside: the page and the CLI say so, the next page loads submit one job', async () => {
      const again = who.again as SlurmUser;
      const cli = await startSlurmCli(again, slurmArgs(again, 'again', []));
      await cli.waitFor(/RStudio answered on /, 60_000);
      const first = cli.jobId();
      await cluster.run('scancel', [first], again.user);
      const ended = new RegExp(`your RStudio job ${first} ended: CANCELLED at \\d\\d:\\d\\d`);
      await cli.waitFor(ended, 30_000);
      // However many page loads arrive, one new job.
      const pages = await Promise.all(Array.from({ length: 6 }, () => loadPage(cli)));
      for (const page of pages) {
        assert.equal(page.status, 503);
        assert.match(page.body, new RegExp(`${ended.source} — starting a new one`));
      }
      await cli.waitFor(new RegExp(`${ended.source} — starting a new one`), 10_000);
      await waitUntil(() => cli.jobId() !== first, 30_000, 'a second job');
      const second = cli.jobId();
      await waitUntil(
        () => (cli.stderr().match(/RStudio answered on /g) ?? []).length === 2,
        60_000,
        'RStudio answering in the second job',
      );
      const page = await loadPage(cli);
      assert.notEqual(page.status, 503, page.body);
      assert.deepEqual(await listInstanceJobs(cluster, 'again'), [
        { id: first, state: 'CANCELLED' },
        { id: second, state: 'RUNNING' },
      ]);
      assert.deepEqual(await cli.stop(), { code: 0, signal: null }, cli.stderr());
      await waitForNoProcesses(again.user);
    });

    test('SIGKILL: the job keeps running, the same command attaches to it, stop cancels it', async () => {
      const attach = who.attach as SlurmUser;
      const args = slurmArgs(attach, 'attach', []);
      const first = await startSlurmCli(attach, args);
      await first.waitFor(/RStudio answered on /, 60_000);
      const jobId = first.jobId();
      first.child.kill('SIGKILL');
      await first.cli.exited;
      assert.equal((await cluster.getJobState(jobId)).state, 'RUNNING');
      const listed = runCliAs(attach, ['status']);
      assert.match(
        listed.stdout,
        new RegExp(
          `attach \\(slurm\\): not running\\n  job: ${jobId} RUNNING on ${cluster.node}.*attaches to it`,
        ),
      );

      const second = await startSlurmCli(attach, args);
      await second.waitFor(new RegExp(`attached to job ${jobId} \\(running\\)`), 30_000);
      await second.waitFor(/RStudio answered on /, 60_000);
      const answer = await fetchServed(second, PREFIX);
      assert.ok(answer.status === 200 || answer.status === 302, `${answer.status} ${answer.body}`);
      assert.deepEqual(await listInstanceJobs(cluster, 'attach'), [
        { id: jobId, state: 'RUNNING' },
      ]);

      second.child.kill('SIGKILL');
      await second.cli.exited;
      const stop = runCliAs(attach, ['stop', '--instance=attach']);
      assert.equal(stop.code, 0, stop.stderr);
      assert.match(
        stop.stderr,
        new RegExp(`cancelled job ${jobId}, which a killed login side had left RUNNING`),
      );
      assert.equal((await cluster.getJobState(jobId)).state, 'CANCELLED');
      await waitForNoProcesses(attach.user);
      assert.equal(existsSync(nodeDir(attach, jobId)), false);
    });

    test('--time=1: the job ends at its limit, exec stops everything within KillWait, --no-resubmit exits 1', async (t) => {
      const limit = who.limit as SlurmUser;
      const cli = await startSlurmCli(
        limit,
        slurmArgs(limit, 'limit', ['--no-resubmit'], ['--time=1']),
      );
      await cli.waitFor(/RStudio answered on /, 60_000);
      const jobId = cli.jobId();
      await signIn(cli, PREFIX); // an rsession now runs in the job too
      const exit = await cli.cli.exited;
      assert.deepEqual(exit, { code: 1, signal: null }, cli.stderr());
      assert.match(
        cli.stderr(),
        new RegExp(
          `your RStudio job ${jobId} ended: TIMEOUT \\(its time limit\\) at \\d\\d:\\d\\d`,
        ),
      );
      assert.equal((await cluster.getJobState(jobId)).state, 'TIMEOUT');
      await waitForNoProcesses(limit.user);
      assert.equal(existsSync(nodeDir(limit, jobId)), false);
      // exec's own account, in the job's log: the SIGTERM, then everything stopped.
      const log = readFileSync(
        join(limit.dataDir, 'rsession-proxy', 'instances', 'limit', 'slurm', `job-${jobId}.log`),
        'utf8',
      );
      const entries = log
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { time: string; message: string });
      const term = entries.find((entry) => entry.message === 'SIGTERM: stopping rserver');
      const done = entries.find((entry) => entry.message === 'stopped; nothing left behind');
      assert.ok(term && done, log);
      const stopMs = Date.parse(done.time) - Date.parse(term.time);
      t.diagnostic(
        `at the time limit, exec stopped rserver and its rsession in ${stopMs} ms (KillWait: 5 s)`,
      );
    });

    test("rserver missing on the node: the job's own error reaches the user", async () => {
      const missing = who.missing as SlurmUser;
      const cli = await startSlurmCli(missing, [
        '--rserver=/nonexistent/rserver',
        '--listen=127.0.0.1:0',
        '--instance=missing',
        '--',
        `--chdir=${missing.workDir}`,
      ]);
      const exit = await cli.cli.exited;
      assert.deepEqual(exit, { code: 1, signal: null }, cli.stderr());
      const jobId = cli.jobId();
      assert.match(
        cli.stderr(),
        new RegExp(
          `RStudio could not start in job ${jobId} on ${cluster.node}: .*/nonexistent/rserver`,
        ),
      );
      assert.doesNotMatch(cli.stderr(), /did not report ready|timed out|within \d+ s/);
      await waitForNoProcesses(missing.user);
    });
  });
});
