// The batch job as sbatch gets it: the script (exec in the foreground, nothing secret, the
// login node's XDG_RUNTIME_DIR dropped), sbatch's arguments (the user's after ours, unchanged),
// what the job reports, and the records both sides read.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isRSessionProxyError } from '../../lib/errors.js';
import {
  buildBatchScript,
  buildSbatchArgs,
  getJobName,
  quoteForShell,
} from '../../lib/slurm/batch-script.js';
import { parseNodeReport } from '../../lib/slurm/job-dir.js';
import { parseSubmitted } from '../../lib/slurm/submit.js';
import { makeTempDir } from '../helpers/temp.js';

describe('the batch script', () => {
  const input = {
    command: ['/usr/bin/node', "/opt/it's/rsession-proxy.js"],
    instance: 'default',
    jobDir: '/home/alice/.local/share/rsession-proxy/instances/default/slurm',
    rootPath: '/rstudio/',
  };

  test('runs exec in the foreground with the job directory, every word quoted', () => {
    const script = buildBatchScript({
      ...input,
      rserver: '/opt/rstudio/bin/rserver',
      r: '/usr/bin/R',
      isolation: 'namespace' as const,
      timeout: 45_000,
      extraArgs: ['--www-thread-pool-size=4'],
    });
    assert.match(script, /^#!\/bin\/sh\n/);
    assert.match(script, /\nunset XDG_RUNTIME_DIR\n/);
    assert.match(
      script,
      /\nexec '\/usr\/bin\/node' '\/opt\/it'\\''s\/rsession-proxy\.js' 'exec' '--slurm-job=\/home\/alice\/\.local\/share\/rsession-proxy\/instances\/default\/slurm' '--root-path=\/rstudio\/' '--log-format=json' '--rserver=\/opt\/rstudio\/bin\/rserver' '--r=\/usr\/bin\/R' '--isolation=namespace' '--timeout=45' '--' '--www-thread-pool-size=4'\n$/,
    );
  });

  test('sh runs it as written: each word arrives whole', () => {
    const dir = makeTempDir('rsp-script-');
    const printer = join(dir, 'print-args');
    writeFileSync(printer, '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n', {
      mode: 0o755,
    });
    const script = buildBatchScript({ ...input, command: [printer, "it's $HOME `id`"] });
    const run = spawnSync('sh', ['-c', script], {
      encoding: 'utf8',
      env: { XDG_RUNTIME_DIR: '/run/user/1' },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout.trim().split('\n'), [
      "it's $HOME `id`",
      'exec',
      `--slurm-job=${input.jobDir}`,
      '--root-path=/rstudio/',
      '--log-format=json',
    ]);
    assert.equal(quoteForShell("a'b"), `'a'\\''b'`);
  });

  test('refuses a path with a control character', () => {
    assert.throws(
      () => buildBatchScript({ ...input, rserver: '/opt/a\nb' }),
      (error: unknown) => isRSessionProxyError(error, 'EINVALIDOPTION'),
    );
  });
});

describe("sbatch's arguments", () => {
  test("ours first, then the user's unchanged (sbatch lets a later option win)", () => {
    assert.deepEqual(
      buildSbatchArgs({
        jobName: getJobName('lab'),
        output: '/d/job-%j.log',
        userArgs: ['--time=4:00:00', '-c', '4', '--mem=16G', '--job-name=mine'],
      }),
      [
        '--parsable',
        '--job-name=rsession-proxy-lab',
        '--output=/d/job-%j.log',
        '--time=4:00:00',
        '-c',
        '4',
        '--mem=16G',
        '--job-name=mine',
      ],
    );
  });

  test('refuses what would make the job something else', () => {
    for (const arg of ['--wrap=sleep 1', '--wrap', '--array=1-3', '-a1-3', '--time=1\n2']) {
      assert.throws(
        () => buildSbatchArgs({ jobName: 'j', output: '/o', userArgs: [arg] }),
        (error: unknown) => isRSessionProxyError(error, 'EINVALIDOPTION'),
        arg,
      );
    }
  });

  test("sbatch --parsable's answer", () => {
    assert.equal(parseSubmitted('12345\n'), '12345');
    assert.equal(parseSubmitted('12345;cluster2\n'), '12345');
    assert.equal(parseSubmitted('sbatch: warning: x\n678\n'), '678');
    assert.equal(parseSubmitted(''), undefined);
    assert.equal(parseSubmitted('Submitted batch job 5\n'), undefined);
  });
});

test("the job's report is believed only when it is one", () => {
  const ready = {
    jobId: '12',
    node: 'node042',
    pid: 4242,
    state: 'ready',
    socket: '/tmp/rsession-proxy-1000/slurm-12/rserver.sock',
    at: '2026-12-01T10:00:00.000Z',
  };
  assert.deepEqual(parseNodeReport(ready), ready);
  const failed = {
    ...ready,
    state: 'failed',
    socket: undefined,
    code: 'ERSERVERNOTFOUND',
    message: 'no rserver',
  };
  assert.deepEqual(parseNodeReport(failed), failed);
  // Behind exec's front, which signs in: what keeps other users of the node out, and what to say.
  const isolated = {
    ...ready,
    socket: '/tmp/rsession-proxy-1000/slurm-12/proxy.sock',
    isolation: 'password: rserver listens on a port of 127.0.0.1 …',
    warnings: [
      'rserver listens on a port of 127.0.0.1 that every user of this host can connect to',
    ],
  };
  assert.deepEqual(parseNodeReport(isolated), isolated);
  for (const bad of [
    { ...isolated, isolation: 42 },
    { ...isolated, isolation: 'a\nb' },
    { ...isolated, warnings: 'one' },
    { ...isolated, warnings: ['a\u001b[2J'] },
    { ...isolated, warnings: Array.from({ length: 9 }, () => 'w') },
    undefined,
    'ready',
    { ...ready, jobId: '12; rm' },
    { ...ready, node: '-w' },
    { ...ready, state: 'done' },
    { ...ready, socket: 'relative.sock' },
    { ...ready, socket: '/tmp/a\nb' },
    { ...ready, socket: undefined },
    { ...ready, pid: '4242' },
  ]) {
    assert.equal(parseNodeReport(bad), undefined, JSON.stringify(bad));
  }
});
