// Issue #16 on a real one-node Slurm: `rsession-proxy slurm` with an rserver without
// --www-socket (the double's 2024.04) in the job, run by throw-away users. rserver there runs
// with a password nobody types, so the job's exec puts its own front (which signs in) on the
// socket it reports, and the login side, which has no password, needs no sign-in; --isolation
// reaches the job's exec.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { browse } from '../helpers/browser.js';
import { cookieHeader } from '../helpers/http-client.js';
import { findRealR, RSERVER_DOUBLE, writeRserverVariant } from '../helpers/rserver-double.js';
import { readableByOthers } from '../helpers/readable-copy.js';
import { fetchServed } from '../helpers/served.js';
import {
  downloadHash,
  expectedDownloadHash,
  prepareSlurmUser,
  removeSlurmUserDirs,
  startSlurmCli,
  waitForNoProcesses,
  type SlurmUser,
} from '../helpers/slurm-cli.js';
import { slurmSkipReason, useSlurmCluster, type SlurmCluster } from '../helpers/slurm-cluster.js';
import { useUsers } from '../helpers/users.js';
import { closeWebSocket, nextMessage, openWebSocket } from '../helpers/ws-client.js';

const PREFIX = '/rstudio/';
const CPUS = 8;
const DOWNLOAD = 20 * 1024 * 1024;
const REAL_R = findRealR();

describe('rsession-proxy slurm with an rserver before 2024.12', { skip: slurmSkipReason }, () => {
  const slurm = useSlurmCluster({ cpus: CPUS });
  const users = useUsers('oldrs', 'refused', 'pwonly');
  let cluster: SlurmCluster;
  const who: Record<string, SlurmUser> = {};
  const rservers: Record<string, string> = {};

  before(async () => {
    cluster = slurm.cluster;
    for (const [role, user] of Object.entries(users)) {
      who[role] = prepareSlurmUser(cluster, user);
      // The old release, in a directory of the user's (the home, shared with "the node").
      // The script runs as that user: it names the double where the user can read it (CI's
      // clone may lie below a directory only root can enter).
      rservers[role] = await writeRserverVariant(
        cluster.makeUserDir(user, `${user.name}-bin`),
        { RSERVER_DOUBLE_RELEASE: '2024.04.2+764' },
        'rserver',
        readableByOthers(RSERVER_DOUBLE),
      );
    }
  });
  after(() => removeSlurmUserDirs(Object.values(who)));

  // The CLI's flags: that rserver (and real R when there is one), a port with a token, the prefix.
  function slurmArgs(role: string, extra: string[] = []): string[] {
    const runner = who[role] as SlurmUser;
    return [
      `--rserver=${rservers[role] ?? RSERVER_DOUBLE}`,
      ...(REAL_R === undefined ? [] : [`--r=${REAL_R}`]),
      '--listen=127.0.0.1:0',
      `--prefix=${PREFIX}`,
      `--instance=${role}`,
      ...extra,
      '--',
      `--chdir=${runner.workDir}`,
      '--time=10',
    ];
  }

  test("signed in through the login side with no password typed: exec's front in the job; R, WebSocket, download", async (t) => {
    const owner = who.oldrs as SlurmUser;
    const cli = await startSlurmCli(owner, slurmArgs('oldrs'));
    await cli.waitFor(/RStudio answered on /, 90_000);
    const jobId = cli.jobId();
    // What keeps other users of the node out, said where the user looks.
    assert.match(
      cli.stderr(),
      new RegExp(`isolation on ${cluster.node}: namespace: rserver listens on 127\\.0\\.0\\.1`),
    );

    // A browser from the printed URL: the token, then the sign-in made in the job.
    const { visits, jar } = await browse(cli.url.href);
    const hops = JSON.stringify(visits.map((visit) => [visit.url, visit.answer.status]));
    assert.equal(visits.at(-1)?.answer.status, 200, hops);
    assert.equal(visits.at(-1)?.url, `${cli.origin}${PREFIX}`, hops);
    assert.ok(jar.has('user-id'), hops);
    const headers = { cookie: cookieHeader(jar) };

    const status = JSON.parse((await fetchServed(cli, `${PREFIX}_rsession-proxy/status`)).body) as {
      job?: { socket?: string };
    };
    const nodeDir = `/tmp/rsession-proxy-${owner.user.uid}/slurm-${jobId}`;
    assert.equal(status.job?.socket, join(nodeDir, 'proxy.sock'), "exec's front in the job");

    if (REAL_R === undefined)
      t.diagnostic('no R on PATH: R evaluation through the job is not tested');
    else {
      const evaluated = await fetchServed(cli, `${PREFIX}rpc/eval`, {
        method: 'POST',
        headers: {
          ...headers,
          origin: cli.origin,
          'x-rs-csrf-token': jar.get('rs-csrf-token') ?? '',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ method: 'eval', params: ['1+1'] }),
        timeout: 60_000,
      });
      assert.equal(evaluated.status, 200, evaluated.body);
      assert.deepEqual(JSON.parse(evaluated.body), { result: { output: '[1] 2' } });
    }
    const ws = await openWebSocket(
      `${cli.origin.replace('http:', 'ws:')}${PREFIX}p/0a1b/terminal/1/`,
      [],
      { ...headers, origin: cli.origin },
      30_000,
    );
    ws.send('hello');
    assert.equal(await nextMessage(ws, 30_000), 'hello');
    await closeWebSocket(ws);
    const download = await downloadHash(
      `${cli.origin}${PREFIX}export/big.bin?size=${DOWNLOAD}`,
      headers,
    );
    assert.equal(download.status, 200);
    assert.equal(download.sha256, expectedDownloadHash(DOWNLOAD), '20 MiB intact');

    assert.deepEqual(await cli.stop(), { code: 0, signal: null }, cli.stderr());
    await waitForNoProcesses(owner.user);
    assert.equal(existsSync(nodeDir), false, 'the node directory is gone');
  });

  describe('--isolation reaches the job', { concurrency: true }, () => {
    test('socket: refused in the job with the reason, and the login side exits 1 saying it', async () => {
      const refused = who.refused as SlurmUser;
      const cli = await startSlurmCli(refused, slurmArgs('refused', ['--isolation=socket']));
      const exit = await cli.cli.exited;
      assert.deepEqual(exit, { code: 1, signal: null }, cli.stderr());
      assert.match(
        cli.stderr(),
        new RegExp(
          `RStudio could not start in job ${cli.jobId()} on ${cluster.node}: --isolation=socket needs an rserver that listens on a Unix socket`,
        ),
      );
      await waitForNoProcesses(refused.user);
    });

    test('password: said as a warning on the login side; the sign-in works', async () => {
      const runner = who.pwonly as SlurmUser;
      const cli = await startSlurmCli(runner, slurmArgs('pwonly', ['--isolation=password']));
      await cli.waitFor(/RStudio answered on /, 90_000);
      assert.match(cli.stderr(), /isolation on [^:]+: password: rserver listens on a port/);
      assert.match(cli.stderr(), /warn.*every user of this host can connect/);
      const { visits } = await browse(cli.url.href);
      assert.equal(visits.at(-1)?.answer.status, 200, JSON.stringify(visits.map((v) => v.url)));
      assert.deepEqual(await cli.stop(), { code: 0, signal: null }, cli.stderr());
      await waitForNoProcesses(runner.user);
    });
  });
});
