// Issue #15's download floor on a real one-node Slurm: `rsession-proxy slurm` as throw-away
// users, the rserver double in the job, downloads through the two-lane relay. The chunk files
// are watched with inotify (fs.watch) in the job's chunk directory, so a test that expects
// them fails when the file lane is off, and one that expects none fails at the first file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, watch, chmodSync, type FSWatcher } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitUntil } from '../helpers/processes.js';
import { signIn, tokenHeader } from '../helpers/served.js';
import { fetchText } from '../helpers/fetch-text.js';
import {
  downloadHash,
  expectedDownloadHash,
  prepareSlurmUser,
  removeSlurmUserDirs,
  startSlurmCli,
  waitForNoProcesses,
  type RunningSlurm,
  type SlurmUser,
} from '../helpers/slurm-cli.js';
import { RSERVER_DOUBLE } from '../helpers/rserver-double.js';
import { slurmSkipReason, useSlurmCluster } from '../helpers/slurm-cluster.js';
import { asUser, useUsers } from '../helpers/users.js';
import { closeWebSocket, nextMessage, openWebSocket } from '../helpers/ws-client.js';

const PREFIX = '/rstudio/';
const MiB = 1024 * 1024;

/** Chunk files seen created in a directory, by name, as inotify reports them. */
interface ChunkWatch {
  names: Set<string>;
  close(): void;
}

function watchChunks(dir: string): ChunkWatch {
  const names = new Set<string>();
  const watcher: FSWatcher = watch(dir, (_event, name) => {
    if (name?.endsWith('.chunk')) names.add(name);
  });
  return { names, close: () => watcher.close() };
}

function chunkFilesIn(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith('.chunk'));
}

// The job's chunk directory, where its relays write: `<state>/instances/<i>/slurm/spill-<job>`.
function spillDirOf(who: SlurmUser, instance: string, jobId: string): string {
  return join(who.dataDir, 'rsession-proxy', 'instances', instance, 'slurm', `spill-${jobId}`);
}

// Reads a download until `enough` bytes came, then leaves (the socket destroyed mid-body).
function leaveMidDownload(
  url: string,
  headers: Record<string, string>,
  enough: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`not ${enough} bytes within 60 s`));
    }, 60_000);
    const req = get(url, { headers }, (res) => {
      let seen = 0;
      res.on('error', () => undefined);
      res.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen >= enough && !req.destroyed) {
          clearTimeout(timer);
          req.destroy();
          resolve(seen);
        }
      });
      res.on('end', () => reject(new Error(`the download ended after ${seen} bytes`)));
    });
    req.on('error', (error) => {
      if (!req.destroyed) reject(error);
    });
  });
}

describe(
  'downloads through chunk files in the shared state directory',
  { skip: slurmSkipReason },
  () => {
    const slurm = useSlurmCluster({ cpus: 8 });
    const users = useUsers('spiller', 'inline', 'snoop');
    const who: Record<string, SlurmUser> = {};

    before(() => {
      for (const [role, user] of Object.entries(users)) {
        who[role] = prepareSlurmUser(slurm.cluster, user);
      }
    });
    after(() => removeSlurmUserDirs(Object.values(who)));

    function start(role: string, extra: string[] = []): Promise<RunningSlurm> {
      const runner = who[role] as SlurmUser;
      return startSlurmCli(
        { ...runner, env: { ...runner.env, RSERVER_DOUBLE_LONG_POLL_MS: '1000' } },
        [
          `--rserver=${RSERVER_DOUBLE}`,
          '--listen=127.0.0.1:0',
          `--prefix=${PREFIX}`,
          `--instance=${role}`,
          '--verbose',
          ...extra,
          '--',
          `--chdir=${runner.workDir}`,
          '--time=10',
        ],
      );
    }

    // The command started and ready, its job's chunk directory watched, and a download of it.
    async function startWatched(role: string, extra: string[] = []) {
      const owner = who[role] as SlurmUser;
      const cli = await start(role, extra);
      await cli.waitFor(/RStudio answered on /, 90_000);
      const spillDir = spillDirOf(owner, role, cli.jobId());
      const download = (size: number) =>
        downloadHash(`${cli.origin}${PREFIX}files/big.bin?size=${size}`, tokenHeader(cli));
      return { owner, cli, spillDir, chunks: watchChunks(spillDir), download };
    }

    test('200 MiB intact through chunk files, WebSocket and long poll inline, nothing left', async (t) => {
      const { owner, cli, spillDir, chunks, download: fetchBytes } = await startWatched('spiller');
      assert.equal(statSync(spillDir).mode & 0o777, 0o700, 'the chunk directory is private');
      try {
        const size = 200 * MiB;
        const download = await fetchBytes(size);
        assert.equal(download.status, 200);
        assert.equal(download.sha256, expectedDownloadHash(size), '200 MiB intact');
        assert.ok(chunks.names.size > 0, 'the download went through chunk files');
        t.diagnostic(
          `200 MiB through the login side: ${(size / 1e6 / (download.ms / 1000)).toFixed(1)} MB/s, ${chunks.names.size} chunk files`,
        );

        // Another real user gets nowhere near them: not the directory, not a chunk's path.
        const seen = [...chunks.names][0] ?? 'x.chunk';
        const [command, args] = asUser(users.snoop, process.execPath, [
          '-e',
          `const fs = require('fs');
         for (const f of [() => fs.readdirSync(process.argv[1]), () => fs.readFileSync(process.argv[2])]) {
           try { f(); console.log('read'); } catch (e) { console.log(e.code); }
         }`,
          spillDir,
          join(spillDir, seen),
        ]);
        const snoop = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 });
        assert.deepEqual(snoop.stdout.trim().split('\n'), ['EACCES', 'EACCES'], snoop.stderr);

        // A WebSocket and a long poll on the same kind of connection.
        const signedIn = await signIn(cli, PREFIX);
        const ws = await openWebSocket(
          `${cli.origin.replace('http:', 'ws:')}${PREFIX}p/0a1b/terminal/1/`,
          [],
          { ...signedIn.headers, origin: cli.origin },
          30_000,
        );
        ws.send('hello');
        assert.equal(await nextMessage(ws, 30_000), 'hello');
        await closeWebSocket(ws);
        const poll = await fetchText(`${cli.origin}${PREFIX}events/get_events`, {
          method: 'POST',
          headers: {
            ...signedIn.headers,
            origin: cli.origin,
            'x-rs-csrf-token': signedIn.csrf,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ method: 'get_events', params: [0] }),
          timeout: 30_000,
        });
        assert.equal(poll.status, 200, poll.body);
        assert.deepEqual(JSON.parse(poll.body), { result: [] });

        // A client that leaves mid-download: the relay removes what nobody will read.
        const before = chunks.names.size;
        await leaveMidDownload(
          `${cli.origin}${PREFIX}files/huge.bin?size=${1024 * MiB}`,
          tokenHeader(cli),
          40 * MiB,
        );
        assert.ok(chunks.names.size > before, 'chunk files were in use when the client left');
        const cleanMs = await waitUntil(
          () => chunkFilesIn(spillDir).length === 0,
          20_000,
          'no chunk file left',
        );
        t.diagnostic(`the client left mid-download: no chunk file left ${cleanMs} ms later`);

        // A chunk directory the relay cannot write to: the download goes inline, whole.
        chmodSync(spillDir, 0o500);
        try {
          const created = chunks.names.size;
          const inline = await downloadHash(
            `${cli.origin}${PREFIX}files/inline.bin?size=${50 * MiB}`,
            tokenHeader(cli),
          );
          assert.equal(inline.sha256, expectedDownloadHash(50 * MiB), 'intact inline');
          assert.equal(chunks.names.size, created, 'no chunk file could be made');
        } finally {
          chmodSync(spillDir, 0o700);
        }
      } finally {
        chunks.close();
      }
      assert.deepEqual(await cli.stop(), { code: 0, signal: null }, cli.cli.stderr);
      await waitForNoProcesses(owner.user);
      assert.equal(existsSync(spillDir), false, "the job's chunk directory is gone with the job");
    });

    test('--no-spill: not one chunk file, the download intact through srun alone', async (t) => {
      const {
        owner,
        cli,
        chunks,
        download: fetchBytes,
      } = await startWatched('inline', ['--no-spill']);
      try {
        const size = 50 * MiB;
        const download = await fetchBytes(size);
        assert.equal(download.sha256, expectedDownloadHash(size));
        assert.equal(chunks.names.size, 0, 'no chunk file was created');
        t.diagnostic(
          `50 MiB through srun alone: ${(size / 1e6 / (download.ms / 1000)).toFixed(1)} MB/s`,
        );
      } finally {
        chunks.close();
      }
      assert.deepEqual(await cli.stop(), { code: 0, signal: null }, cli.cli.stderr);
      await waitForNoProcesses(owner.user);
    });
  },
);
