// Fault: the supervisor (`serve`) is SIGKILLed while signed in, so that rserver runs an rsession;
// none of serve's own cleanup runs. Nothing of the instance may outlive it: where user
// namespaces work, rserver runs in a PID namespace of its own and the kernel ends all of it; on a
// host without them (here: no `unshare` on PATH), the watchdog does. Either way the next `serve`
// of that instance starts at once, the dead holder's lock and rserver's stale socket reclaimed.
// So too for an rserver without --www-socket in a network namespace of its own: the relay in it,
// slirp4netns outside it, and the namespace itself go with serve.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { detectSandbox } from '../../lib/rserver/sandbox-detect.js';
import { makeCliEnv, serveDoubleArgs, startCli } from '../helpers/cli.js';
import { findSocketsAndLocks, readInstanceProcesses } from '../helpers/leftovers.js';
import { waitForExit, waitUntil } from '../helpers/processes.js';
import { makePathWithout } from '../helpers/sandbox-env.js';
import { fetchServed, getServeStatus, signIn } from '../helpers/served.js';
import { isAlive } from '../helpers/proc.js';
import { writeRserverVariant } from '../helpers/rserver-double.js';
import { SLIRP4NETNS, assertTapUp, canOpenTun } from '../helpers/slirp.js';
import { makeTempDir } from '../helpers/temp.js';

const here = await detectSandbox(process.env);
const sandboxes = [
  {
    name: 'PID namespace',
    path: process.env.PATH,
    logged: /rserver runs in a PID namespace of its own/,
    // CI runs where user namespaces work: there this must run, not skip.
    skip:
      here.kind !== 'pid-namespace' && !process.env.CI
        ? `no PID namespace: ${here.description}`
        : false,
  },
  {
    name: 'watchdog',
    path: makePathWithout('unshare', join(makeTempDir('rsp-path-'), 'bin')),
    logged: /a watchdog ends rserver's processes .*no unshare on PATH/,
    skip: false,
  },
];

describe('serve SIGKILLed while signed in', () => {
  for (const sandbox of sandboxes) {
    test(
      `no rserver or rsession of the instance is left within 5 s; the next serve starts (${sandbox.name})`,
      { skip: sandbox.skip },
      async (t) => {
        const { env, runtimeDir } = makeCliEnv({ PATH: sandbox.path });
        const instanceDir = join(runtimeDir, 'default');
        const socketPath = join(instanceDir, 'rserver.sock');
        const first = await startCli(serveDoubleArgs(), env);
        await signIn(first);
        const rserverPid = (await getServeStatus(first)).pid;
        await waitUntil(
          () => readInstanceProcesses(instanceDir).some((p) => p.name === 'rsession'),
          5000,
          'rsession to start',
        );
        const before = readInstanceProcesses(instanceDir);
        assert.ok(
          before.some((p) => p.pid === rserverPid),
          `the pid serve reports (${rserverPid}) is one of the instance's: ${JSON.stringify(before)}`,
        );
        assert.match(first.stdout() + first.stderr(), sandbox.logged);

        first.child.kill('SIGKILL');
        await waitForExit(first.child);
        const killedAt = Date.now();
        await waitUntil(
          () => readInstanceProcesses(instanceDir).length === 0,
          5000,
          `rserver and rsession (${before.map((p) => `${p.name} ${p.pid}`).join(', ')}) to end`,
        );
        const goneMs = Date.now() - killedAt;
        assert.ok(existsSync(`${instanceDir}.lock`), 'the dead supervisor left its lock');
        assert.ok(lstatSync(socketPath).isSocket(), 'rserver, killed by a signal, left its socket');

        const second = await startCli(serveDoubleArgs(), env, 20_000);
        const startedMs = Date.now() - killedAt;
        const holder = JSON.parse(readFileSync(`${instanceDir}.lock.json`, 'utf8')) as {
          pid: number;
        };
        assert.equal(holder.pid, second.pid, 'the new serve holds the lock');
        assert.ok(!existsSync(socketPath), 'the stale socket was removed');
        const answer = await fetchServed(second, '/rstudio/files/x.bin?size=10');
        assert.equal(answer.status, 200, `${answer.body}\n${second.stderr()}`);
        t.diagnostic(
          `${sandbox.name}: after the SIGKILL, rserver and rsession gone in ${goneMs} ms, the next serve ready in ${startedMs} ms`,
        );

        assert.deepEqual(await second.stop(), { code: 0, signal: null }, second.stderr());
        assert.deepEqual(readInstanceProcesses(instanceDir), []);
        assert.deepEqual(findSocketsAndLocks(runtimeDir), []);
      },
    );
  }
});

// The pid of every process in the network namespace `netns` (`net:[inode]`), read from /proc.
function processesInNetns(netns: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/net`) === netns) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

// slirp4netns processes attached to the namespace whose first process is `init` (their argv
// ends in `<pid> tap0`).
function slirpPidsFor(init: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (/slirp4netns$/.test(argv[0] ?? '') && argv.includes(String(init))) {
        pids.push(Number(entry));
      }
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe('serve SIGKILLed during a namespace run (an rserver without --www-socket)', () => {
  test(
    'nothing of the namespace, the relay, rserver, rsession or slirp4netns is left',
    { skip: sandboxes[0]?.skip ?? false },
    async (t) => {
      const { root, env, runtimeDir } = makeCliEnv();
      const instanceDir = join(runtimeDir, 'default');
      const rserver = await writeRserverVariant(root, { RSERVER_DOUBLE_RELEASE: '2024.04.2+764' });
      const first = await startCli(serveDoubleArgs({ rserver }), env);
      await signIn(first);
      const rserverPid = (await getServeStatus(first)).pid ?? 0;
      await waitUntil(
        () => readInstanceProcesses(instanceDir).some((p) => p.name === 'rsession'),
        5000,
        'rsession to start',
      );
      const before = readInstanceProcesses(instanceDir);
      const relay = before.filter(({ pid }) =>
        readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('relay-main.js'),
      );
      assert.equal(
        relay.length,
        1,
        `the relay is one of the instance's: ${JSON.stringify(before)}`,
      );
      const netns = readlinkSync(`/proc/${rserverPid}/ns/net`);
      assert.notEqual(netns, readlinkSync('/proc/self/ns/net'), 'rserver has a network of its own');
      const init = Number(
        readFileSync(`/proc/${rserverPid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1],
      );
      const slirp = slirpPidsFor(init);
      // With slirp4netns installed (CI has it) it must be attached, not merely tried: the log
      // says so, one slirp4netns serves the namespace, and its tap device is up inside.
      if (SLIRP4NETNS !== undefined && canOpenTun()) {
        assert.match(first.stderr(), /R reaches the network through slirp4netns/);
        assert.doesNotMatch(first.stderr(), /R will not reach the internet/);
        assert.equal(slirp.length, 1, 'slirp4netns connects the namespace');
        assertTapUp(rserverPid);
      } else {
        assert.match(
          first.stderr(),
          SLIRP4NETNS === undefined
            ? /R will not reach the internet: install slirp4netns.*no slirp4netns found/
            : /R will not reach the internet: .*slirp4netns cannot open \/dev\/net\/tun/,
        );
        assert.equal(slirp.length, 0);
        t.diagnostic(
          `${SLIRP4NETNS === undefined ? 'no slirp4netns here' : '/dev/net/tun is not open to this user'}: only the namespace, the relay, rserver and rsession`,
        );
      }
      const inside = processesInNetns(netns);
      assert.ok(inside.includes(rserverPid) && inside.includes(relay[0]?.pid ?? 0));

      first.child.kill('SIGKILL');
      await waitForExit(first.child);
      const killedAt = Date.now();
      const alive = () => [
        ...readInstanceProcesses(instanceDir).map((p) => `${p.name} ${p.pid}`),
        ...processesInNetns(netns).map((pid) => `in the namespace: ${pid}`),
        ...slirp.filter((pid) => isAlive(pid)).map((pid) => `slirp4netns ${pid}`),
      ];
      await waitUntil(() => alive().length === 0, 5000, 'everything of the run to end').catch(
        (error: unknown) => {
          throw new Error(`${(error as Error).message}: ${alive().join(', ')}`, { cause: error });
        },
      );
      t.diagnostic(
        `${before.length} processes of the instance, ${inside.length} in the namespace, ${slirp.length} slirp4netns: all gone ${Date.now() - killedAt} ms after the SIGKILL`,
      );

      // The next serve of the instance starts at once, signs in, and leaves nothing when stopped.
      const second = await startCli(serveDoubleArgs({ rserver }), env, 20_000);
      await signIn(second);
      assert.deepEqual(await second.stop(), { code: 0, signal: null }, second.stderr());
      assert.deepEqual(readInstanceProcesses(instanceDir), []);
      assert.deepEqual(findSocketsAndLocks(runtimeDir), []);
      assert.equal(existsSync(join(instanceDir, 'password')), false, 'the password went too');
    },
  );
});
