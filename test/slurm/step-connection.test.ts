// Backend connections as Slurm steps, against a real one-node Slurm: inside a throw-away user's
// running job a small HTTP server listens on a Unix socket in a directory only that user can
// enter; the same user, on the "login side", reaches it through `srun --overlap … relay` steps
// (lib/slurm/step-connection.ts and the built CLI's relay) with keep-alive, binary bodies, a
// large download and a WebSocket, and sees the step end; another real user gets nothing.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isRSessionProxyError } from '../../lib/errors.js';
import {
  buildStepArgs,
  describeStepFailure,
  openStepConnection,
  type StepConnectionOptions,
} from '../../lib/slurm/step-connection.js';
import { CLI } from '../helpers/cli.js';
import { canConnect } from '../helpers/double-process.js';
import { waitForLine, waitForExit } from '../helpers/processes.js';
import { waitUntil } from '../helpers/proc.js';
import { slurmSkipReason, useSlurmCluster, type SlurmCluster } from '../helpers/slurm-cluster.js';
import { asUser, execAsUser, useUsers, type TestUser } from '../helpers/users.js';

const BACKEND = fileURLToPath(new URL('../fixtures/step-backend.js', import.meta.url));
const CLIENT = fileURLToPath(new URL('../fixtures/step-client.js', import.meta.url));
/** A step's processes on both sides: srun, and the relay it runs. */
const STEP_PROCESSES = '^srun |relay --socket=';
/** What runs rsession-proxy on the node: the built CLI, nothing else installed. */
const RELAY_COMMAND = [process.execPath, CLI];

interface Exit {
  code: number | null;
  signal: string | null;
}

// "37.4 MB/s"
function formatRate(bytes: number, ms: number): string {
  return `${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s`;
}

// Processes of `user` whose command line matches (the steps' srun and relay), by pgrep.
function processesOf(user: TestUser, pattern: string): string[] {
  const result = spawnSync('pgrep', ['-a', '-u', user.name, '-f', pattern], { encoding: 'utf8' });
  return result.stdout.split('\n').filter((line) => line.trim() !== '');
}

describe('backend connections as Slurm steps', { skip: slurmSkipReason }, () => {
  const slurm = useSlurmCluster();
  const users = useUsers('owner', 'other');
  let cluster: SlurmCluster;
  let jobId = '';
  let socketPath = '';

  // The owner's job: the backend on a socket in the owner's private directory.
  async function startBackendJob(name: string): Promise<{ jobId: string; socketPath: string }> {
    const dir = cluster.makeUserDir(users.owner, `${users.owner.name}-${name}`);
    const socket = join(dir, 'backend.sock');
    const id = await cluster.submit(users.owner, dir, [
      `--job-name=${name}`,
      `--wrap=exec ${process.execPath} ${BACKEND} ${socket}`,
    ]);
    await cluster.waitForState(id, 'RUNNING');
    await waitUntil(() => canConnect(socket), 30_000, `the backend of job ${id} on ${socket}`);
    return { jobId: id, socketPath: socket };
  }

  before(async () => {
    cluster = slurm.cluster;
    ({ jobId, socketPath } = await startBackendJob('backend'));
  });

  // Runs a scenario of the step-client fixture as `user` (the login side) and returns what it
  // printed last, after checking that it left no srun or relay of its own running.
  async function runClient(
    scenario: string,
    user: TestUser = users.owner,
    target = { jobId, socketPath },
    leftoverGrace = 0,
  ): Promise<Record<string, unknown> & { exits: Exit[] }> {
    // setpriv execs in place: the pid the timeout kills is the client's own.
    const [command, args] = execAsUser(
      user,
      process.execPath,
      [CLIENT, JSON.stringify({ scenario, ...target, command: RELAY_COMMAND })],
      cluster.env,
    );
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        const child = spawn(command, args, { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      },
    );
    assert.equal(
      result.code,
      0,
      `step-client ${scenario} failed:\n${result.stderr}${result.stdout}`,
    );
    if (leftoverGrace > 0) {
      await waitUntil(
        () => processesOf(user, STEP_PROCESSES).length === 0,
        leftoverGrace,
        `the steps ${scenario} left behind ended`,
      );
    }
    assert.deepEqual(processesOf(user, STEP_PROCESSES), [], 'a step outlived the client');
    const last = result.stdout.trim().split('\n').pop() ?? '';
    return JSON.parse(last) as Record<string, unknown> & { exits: Exit[] };
  }

  test('HTTP requests on a keep-alive agent reuse one step', async (t) => {
    const result = await runClient('requests');
    assert.deepEqual(result.statuses, [200, 200, 200, 200, 200]);
    assert.equal(result.steps, 1, 'one step for five requests');
    assert.equal(new Set(result.connections as number[]).size, 1, 'one server-side connection');
    assert.deepEqual(result.reused, [false, true, true, true, true]);
    const [first, ...warm] = result.firstByteMs as number[];
    t.diagnostic(
      `first byte through a new step: ${first} ms; on the warm step: ${warm.join(', ')} ms`,
    );
    // The agent's idle timeout reaches the step through setTimeout and ends it.
    const idleClosed = result.idleClosedAfterMs as number;
    assert.ok(idleClosed >= (result.idleMs as number) - 50, `closed after ${idleClosed} ms idle`);
    assert.equal(result.exits.length, 1);
  });

  test('a client that exits with an idle step pooled leaves no step behind', async () => {
    const result = await runClient('idle-exit', users.owner, { jobId, socketPath }, 15_000);
    assert.equal(result.status, 200);
    assert.equal(result.pooled, 1, 'the step was idle in the pool when the client exited');
  });

  test('binary bodies arrive intact both ways', async () => {
    const result = await runClient('binary');
    const sent = result.sent as { bytes: number; sha256: string };
    assert.deepEqual(result.received, sent, 'the upload as the server received it');
    const download = result.download as { bytes: number; sha256: string };
    assert.equal(download.bytes, 4 * 1024 * 1024);
    assert.equal(download.sha256, result.trailer, 'the download as the server sent it');
    assert.equal(result.steps, 1);
  });

  test('a 50 MiB download arrives intact', async (t) => {
    const result = await runClient('download');
    assert.equal(result.bytes, 50 * 1024 * 1024);
    assert.equal(result.sha256, result.trailer);
    assert.equal(result.reused, true, 'measured on a step already open');
    const ms = result.ms as number;
    t.diagnostic(
      `relay download: ${formatRate(50 * 1024 * 1024, ms)} (50 MiB in ${Math.round(ms)} ms)`,
    );
    // What srun itself carries, with nothing of ours on either side: the ceiling of the path.
    const started = performance.now();
    const raw = await cluster.run(
      'srun',
      [
        `--jobid=${jobId}`,
        '--overlap',
        '--unbuffered',
        '--nodes=1',
        '--ntasks=1',
        'head',
        '-c',
        String(50 * 1024 * 1024),
        '/dev/zero',
      ],
      users.owner,
    );
    const rawMs = performance.now() - started;
    assert.equal(raw.stdout.length, 50 * 1024 * 1024);
    t.diagnostic(
      `srun alone (head -c 50M /dev/zero through a step): ${formatRate(50 * 1024 * 1024, rawMs)}`,
    );
  });

  test('a download the server ends with a close arrives whole', async () => {
    const result = await runClient('close-download');
    assert.equal(result.bytes, 8 * 1024 * 1024);
    assert.equal(result.sha256, result.trailer);
  });

  test('a WebSocket upgrade echoes text and binary frames', async () => {
    const result = await runClient('websocket');
    assert.deepEqual(result.echoes, [
      { text: 'hello' },
      { binary: result.binarySha256 },
      { text: 'no newline at the end' },
    ]);
    assert.equal(result.steps, 1);
  });

  test('a connection the server closes ends, and its step with it', async () => {
    const result = await runClient('server-close');
    assert.match(result.answer as string, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nbye$/);
    assert.deepEqual(result.exit, { code: 0, signal: null });
    assert.deepEqual(result.errors, []);
  });

  test('the end of the job ends an open connection, and no new step starts in it', async (t) => {
    const target = await startBackendJob('ending');
    const [command, args] = execAsUser(
      users.owner,
      process.execPath,
      [CLIENT, JSON.stringify({ scenario: 'wait-for-end', ...target, command: RELAY_COMMAND })],
      cluster.env,
    );
    const child = spawn(command, args, { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    const closed = once(child, 'close') as Promise<[number | null]>;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    try {
      await waitForLine(child, /"ready":true/, 30_000);
    } catch (error) {
      child.kill('SIGKILL');
      throw new Error(`${(error as Error).message}: ${stderr}`, { cause: error });
    }
    const cancelledAt = Date.now();
    const cancelled = await cluster.run('scancel', [target.jobId], users.owner);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    await waitForExit(child, 60_000);
    const [code] = await closed;
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
      error?: { code: string; message: string };
      closedAt: number;
    };
    // Which goes first is Slurm's choice: the step (srun fails) or the server in the job (the
    // relay's socket closes and the connection ends cleanly). Either way the connection ends.
    if (result.error) {
      assert.equal(result.error.code, 'EBACKEND');
      assert.match(result.error.message, new RegExp(`Slurm step into job ${target.jobId} ended`));
    }
    t.diagnostic(
      `the open connection ended ${result.closedAt - cancelledAt} ms after scancel, ${result.error ? `with: ${result.error.message}` : 'cleanly (the server in the job went first)'}`,
    );
    assert.deepEqual(processesOf(users.owner, STEP_PROCESSES), []);
    await cluster.waitForState(target.jobId, 'CANCELLED');

    // A new connection into the ended job fails, saying so.
    const next = await runClient('refused', users.owner, target);
    const error = next.error as { code: string; message: string };
    assert.equal(error.code, 'EBACKEND');
    assert.match(
      error.message,
      new RegExp(
        `^The Slurm step into job ${target.jobId} ended: srun exited with code 1: srun: (job ${target.jobId} has ended|error: Unable to create step for job ${target.jobId})`,
      ),
    );
    t.diagnostic(`a new step into the ended job: ${error.message}`);
  });

  // The framed protocol of `rsession-proxy slurm` (relay --spill-dir): the same traffic intact
  // through both lanes, the bulk of a download through chunk files, none of them left.
  test('with a spill directory: uploads, downloads, a closing server and a WebSocket intact', async (t) => {
    const spillDir = cluster.makeUserDir(users.owner, `${users.owner.name}-spill`);
    const target = { jobId, socketPath, spillDir };
    const binary = await runClient('binary', users.owner, target);
    assert.deepEqual(binary.received, binary.sent, 'the upload, in data frames');
    const binaryDownload = binary.download as { sha256: string };
    assert.equal(binaryDownload.sha256, binary.trailer);
    const download = await runClient('download', users.owner, target);
    assert.equal(download.bytes, 50 * 1024 * 1024);
    assert.equal(download.sha256, download.trailer);
    assert.ok((download.chunkFiles as number) > 0, 'the download went through chunk files');
    t.diagnostic(
      `relay download with chunk files: ${formatRate(50 * 1024 * 1024, download.ms as number)} in ${download.chunkFiles as number} files`,
    );
    const closing = await runClient('close-download', users.owner, target);
    assert.equal(closing.bytes, 8 * 1024 * 1024);
    assert.equal(closing.sha256, closing.trailer, 'the tail after the server closed');
    const ws = await runClient('websocket', users.owner, target);
    assert.deepEqual(ws.echoes, [
      { text: 'hello' },
      { binary: ws.binarySha256 },
      { text: 'no newline at the end' },
    ]);
    assert.deepEqual(readdirSync(spillDir), [], 'no chunk file left');
  });

  test("another user cannot open a step into the owner's job, nor reach its socket", async () => {
    const refused = await runClient('refused', users.other);
    const error = refused.error as { code: string; message: string };
    assert.equal(error.code, 'EBACKEND');
    assert.match(
      error.message,
      new RegExp(`Slurm step into job ${jobId} ended: srun exited with code 1`),
    );
    assert.match(error.message, /Access\/permission denied/);

    // On the node itself, the relay run by the other user is stopped by the private directory.
    const [command, args] = asUser(users.other, process.execPath, [
      CLI,
      'relay',
      `--socket=${socketPath}`,
    ]);
    const direct = spawnSync(command, args, { encoding: 'utf8', input: '', timeout: 30_000 });
    assert.equal(direct.status, 1);
    assert.match(direct.stderr, /relay: permission denied connecting to /);

    // And the owner's job is untouched.
    assert.equal((await cluster.getJobState(jobId)).state, 'RUNNING');
  });
});

describe('step connections without Slurm', () => {
  const base = { jobId: '12345', socketPath: '/tmp/rsp/rserver.sock', command: ['rsession-proxy'] };

  test('srun arguments: a one-task step in the job, overlapping, unbuffered, in /', () => {
    const table: [Partial<StepConnectionOptions>, string[]][] = [
      [{}, []],
      [{ node: 'node042' }, ['--nodelist=node042']],
      [{ command: [process.execPath, '/opt/rsp/dist/bin/rsession-proxy.js'] }, []],
    ];
    for (const [extra, nodeArgs] of table) {
      const options = { ...base, ...extra };
      assert.deepEqual(buildStepArgs(options), [
        '--jobid=12345',
        '--overlap',
        '--unbuffered',
        '--nodes=1',
        '--ntasks=1',
        '--chdir=/',
        ...nodeArgs,
        ...options.command,
        'relay',
        '--socket=/tmp/rsp/rserver.sock',
      ]);
    }
  });

  test("a failed step is described by srun's and the relay's last lines", () => {
    const table: [{ code: number | null; signal: string | null }, string[], string][] = [
      [
        { code: 1, signal: null },
        [
          'rsession-proxy: error: relay: no socket at /x.sock on node1 (is RStudio running in this job?)',
          'srun: error: node1: task 0: Exited with exit code 1',
        ],
        'The Slurm step into job 7 ended: srun exited with code 1: rsession-proxy: error: relay: no socket at /x.sock on node1 (is RStudio running in this job?) / srun: error: node1: task 0: Exited with exit code 1.',
      ],
      [
        { code: null, signal: 'SIGKILL' },
        [],
        'The Slurm step into job 7 ended: srun was killed by SIGKILL and printed nothing.',
      ],
      [
        { code: 1, signal: null },
        ['a', '', 'b', 'c', 'd'],
        'The Slurm step into job 7 ended: srun exited with code 1: b / c / d.',
      ],
      [
        { code: 1, signal: null },
        [
          'srun: error: Slurm job 7 has expired',
          'srun: Check SLURM_JOB_ID environment variable. Expired or invalid job 7',
        ],
        'The Slurm step into job 7 ended: srun exited with code 1: srun: job 7 has ended.',
      ],
    ];
    for (const [exit, stderr, message] of table) {
      assert.equal(describeStepFailure('7', exit, stderr), message);
    }
  });

  test("options that would break srun's argv are refused", () => {
    const bad: Partial<StepConnectionOptions>[] = [
      { jobId: '' },
      { jobId: '--uid=0' },
      { jobId: '12 13' },
      { socketPath: 'rserver.sock' },
      { socketPath: '/tmp/a\nb.sock' },
      { command: [] },
      { command: [''] },
      { node: '-w' },
      { node: 'a b' },
    ];
    for (const extra of bad) {
      assert.throws(
        () => openStepConnection({ ...base, ...extra }),
        (error: unknown) => isRSessionProxyError(error, 'EINVALIDOPTION'),
        JSON.stringify(extra),
      );
    }
  });

  test('without srun the connection fails saying so', async () => {
    const step = openStepConnection({ ...base, srun: '/nonexistent/srun' });
    const [error] = (await once(step, 'error')) as [Error];
    assert.ok(isRSessionProxyError(error, 'EBACKEND'));
    assert.match(error.message, /^srun could not be started \(\/nonexistent\/srun\): .*ENOENT/);
    if (!step.closed) await once(step, 'close');
    assert.equal(step.connecting, false);
  });
});
