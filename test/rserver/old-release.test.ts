// Releases without --www-socket (before 2024.12.0), launched for real against the double: in a
// network namespace of their own with the relay (and slirp4netns when installed), or with the
// password alone. The launches an attack is tried on are made by a throw-away ordinary user (the
// victim, running launchRServer in a process of its own); a second one (the intruder) attacks.
// Also the private /tmp of releases up to 2022.07, with two ordinary users at once, and the
// 2026.05 session-rpc-key workaround.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { launchRServer, type LaunchOptions } from '../../lib/index.js';
import { makeUserEnv } from '../helpers/as-user.js';
import { cookieHeader, cookieJar, httpRequest, type HttpTarget } from '../helpers/http-client.js';
import { launchRServerAs, type LaunchedAs } from '../helpers/launch-as.js';
import { makeLaunchEnv } from '../helpers/launch-env.js';
import { readInstanceProcesses } from '../helpers/leftovers.js';
import { waitUntil } from '../helpers/proc.js';
import { readableByOthers } from '../helpers/readable-copy.js';
import {
  FAKE_R,
  RSERVER_DOUBLE,
  findSessionPids,
  makeVariantWriter,
  requireRealR,
  writeRserverVariant,
} from '../helpers/rserver-double.js';
import { startScanAs, type ScanReport } from '../helpers/scan-as.js';
import { SLIRP4NETNS, assertTapUp } from '../helpers/slirp.js';
import { makeTempDir } from '../helpers/temp.js';
import { asUser, isRoot, notRootReason, useUsers, type TestUser } from '../helpers/users.js';

const OLD = '2024.04.2+764';
const SHARED_TMP_RELEASE = '2022.07.2+576';
/** Where releases up to 2022.07 keep their keys, for every user of the host (RSERVER.md §8). */
const SHARED_TMP = '/tmp/rstudio-server';
type Launched = Awaited<ReturnType<typeof launchRServer>>;
const { root, options } = makeLaunchEnv();
const variant = makeVariantWriter(root);

// What `user` gets running a command: its exit code and what it printed.
function runAs(user: TestUser, command: string, args: string[], input?: string) {
  const [file, argv] = asUser(user, command, args);
  const result = spawnSync(file, argv, { encoding: 'utf8', timeout: 15_000, input });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}
// What `user` gets connecting to a Unix socket or a port: CONNECTED or the error code.
function connectAs(user: TestUser, target: string | number): string {
  const where =
    typeof target === 'string'
      ? `{ path: ${JSON.stringify(target)} }`
      : `{ port: ${target}, host: '127.0.0.1' }`;
  const script = `const s = require('net').connect(${where});
s.on('connect', () => { console.log('CONNECTED'); s.destroy(); });
s.on('error', (e) => console.log(e.code));`;
  return runAs(user, process.execPath, ['-e', script]).out.trim();
}

// Runs, as `user`, the sign-in a password guesser would: rserver's sign-in page on the port
// (for its CSRF cookie), then one form per attempt with that token; says what each got.
function guessAs(
  user: TestUser,
  port: number,
  attempts: readonly { username: string; password: string }[],
): { page: number; results: { status: number; location: string; userId: boolean }[] } {
  const script = `const http = require('http');
const { port, attempts } = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const ask = (options, body) => new Promise((resolve, reject) => {
  const req = http.request({ host: '127.0.0.1', port, agent: false, ...options }, (res) => {
    res.resume();
    res.on('end', () => resolve(res));
  });
  req.on('error', reject);
  req.end(body);
});
(async () => {
  const page = await ask({ path: '/auth-sign-in?appUri=%2F', headers: { host: 'h' } });
  const token = /rs-csrf-token=([^;]*)/.exec(String(page.headers['set-cookie']))?.[1] ?? '';
  const results = [];
  for (const { username, password } of attempts) {
    const body = new URLSearchParams({ username, password, staySignedIn: '1', appUri: '/', 'rs-csrf-token': token }).toString();
    const res = await ask({ method: 'POST', path: '/auth-do-sign-in', headers: { host: 'h', cookie: 'rs-csrf-token=' + token, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, body);
    results.push({ status: res.statusCode, location: String(res.headers.location), userId: /(^|,)\\s*user-id=[^;]/.test(String(res.headers['set-cookie'] ?? '')) });
  }
  console.log(JSON.stringify({ page: page.statusCode, results }));
})().catch((error) => { console.log(JSON.stringify({ error: String(error) })); });`;
  const { code, out } = runAs(
    user,
    process.execPath,
    ['-e', script],
    JSON.stringify({ port, attempts }),
  );
  assert.equal(code, 0, out);
  return JSON.parse(out) as ReturnType<typeof guessAs>;
}

// The ports listening in the host's network namespace, as `ss -ltn` shows them to `user`. ss
// must succeed and list a listener the test opens for the purpose: a failed or empty listing
// is never taken for "nothing of the victim listens".
async function listeningPortsAs(user: TestUser): Promise<number[]> {
  const control = createServer();
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
  try {
    const { code, out } = runAs(user, 'ss', ['-Hltn']);
    assert.equal(code, 0, `ss -Hltn as ${user.name}: ${out}`);
    const ports = out
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[3] ?? '')
      .filter((local) => local.includes(':'))
      .map((local) => Number(local.slice(local.lastIndexOf(':') + 1)));
    const own = (control.address() as AddressInfo).port;
    assert.ok(ports.includes(own), `ss shows the test's own listener on ${own}:\n${out}`);
    return ports;
  } finally {
    control.close();
  }
}

// The port rserver was told to listen on, from its command line.
function getWwwPort(pid: number): number {
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  return Number(args.find((arg) => arg.startsWith('--www-port='))?.slice('--www-port='.length));
}

// Opens the IDE over the launch's socket with the cookies of a sign-in; the cookie jar.
async function openWith(
  socketPath: string,
  setCookie: readonly string[],
): Promise<Map<string, string>> {
  const jar = cookieJar({ 'set-cookie': [...setCookie] });
  assert.ok(jar.get('user-id'), JSON.stringify(setCookie));
  const page = await httpRequest(
    { socketPath },
    { path: '/', headers: { Cookie: cookieHeader(jar), Host: 'h' } },
  );
  assert.equal(page.status, 200);
  return jar;
}

// Signs in through the launch's own sign-in (as the adapter does) and checks the IDE answers.
async function signInAndOpen(rserver: Launched): Promise<Map<string, string>> {
  assert.ok(rserver.signIn, 'a password launch signs in on the user’s behalf');
  const cookies = await rserver.signIn({ headers: { host: 'h' } });
  return openWith(rserver.socketPath, cookies.setCookie);
}

// POST /rpc/eval with the CSRF header, as the IDE calls R.
async function evaluate(
  target: HttpTarget,
  jar: Map<string, string>,
  code: string,
): Promise<unknown> {
  const answer = await httpRequest(target, {
    method: 'POST',
    path: '/rpc/eval',
    headers: {
      Host: 'h',
      Cookie: cookieHeader(jar),
      'X-RS-CSRF-Token': jar.get('rs-csrf-token') ?? jar.get('csrf-token') ?? '',
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({ method: 'eval', params: [code] }),
    timeoutMs: 30_000,
  });
  assert.equal(answer.status, 200, answer.body.toString());
  return JSON.parse(answer.body.toString()) as unknown;
}

/** What a launch's leftovers are looked for by: its directories and socket. */
interface LaunchPlaces {
  dir: string;
  dataDir: string;
  socketPath: string;
}

function placesOf(rserver: Launched): LaunchPlaces {
  return { ...rserver.instance, socketPath: rserver.socketPath };
}

// Nothing of the launch is left: no process of the instance (rserver, the relay, rsessions),
// no slirp4netns for it, no socket, no password or helper.
async function assertNothingLeft(launch: LaunchPlaces, slirpPids: number[] = []): Promise<void> {
  const { dir, dataDir } = launch;
  await waitUntil(
    () => readInstanceProcesses(dir).length === 0 && findSessionPids(dataDir).length === 0,
    10_000,
    "the instance's processes to end",
  );
  for (const pid of slirpPids)
    assert.equal(existsSync(`/proc/${pid}/stat`), false, 'slirp4netns ended');
  assert.equal(existsSync(launch.socketPath), false, 'relay socket removed');
  assert.equal(existsSync(join(dir, 'password')), false, 'password removed');
  assert.equal(existsSync(join(dir, 'sign-in-helper')), false, 'helper removed');
}

// Stops a launch made as another user; the launcher exits 0 and leaves nothing.
async function stopAndCheck(launched: LaunchedAs, slirpPids: number[] = []): Promise<void> {
  await launched.stop();
  assert.equal(launched.child.exitCode, 0, 'the launcher stopped cleanly');
  await assertNothingLeft(launched, slirpPids);
}

// The pids of the slirp4netns processes attached to the namespace rserver (`rserverPid`) is in:
// their argv ends in `<the namespace's init> tap0`, and that init is rserver's parent.
function slirpPidsFor(rserverPid: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  const init = readFileSync(`/proc/${rserverPid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1];
  return out
    .split('\n')
    .filter(
      (line) => /slirp4netns/.test(line) && init !== undefined && line.includes(` ${init} tap0`),
    )
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

// Whether `user` may open the tun device slirp4netns opens in the namespace: a host (a
// container) may keep it root's alone (0600), and then no ordinary user's R reaches outside.
function tunOpenTo(user: TestUser): boolean {
  return runAs(user, 'sh', ['-c', 'test -r /dev/net/tun && test -w /dev/net/tun']).code === 0;
}

// With slirp4netns installed, outbound traffic is in force: the tap device is up in rserver's
// namespace with slirp4netns's address and default route, and one slirp4netns serves it (its
// pid is returned). Only without slirp4netns (or, for an ordinary `user`, without the tun
// device) does the launch go without, and then it says why.
function checkOutbound(
  t: { diagnostic(message: string): void },
  launch: { pid: number; isolation: Launched['isolation'] },
  user?: TestUser,
): number[] {
  const warnings = launch.isolation.warnings.join('\n');
  if (SLIRP4NETNS === undefined) {
    t.diagnostic('no slirp4netns here: only its absence, and the warning, are checked');
    assert.equal(launch.isolation.outbound, false);
    assert.match(warnings, /R will not reach the internet: install slirp4netns.*no slirp4netns/);
    return [];
  }
  if (user !== undefined && !tunOpenTo(user)) {
    t.diagnostic(`/dev/net/tun is not open to ${user.name} here: slirp4netns cannot serve it`);
    assert.equal(launch.isolation.outbound, false);
    assert.match(warnings, /slirp4netns cannot open \/dev\/net\/tun as this user/);
    return [];
  }
  assert.equal(
    launch.isolation.outbound,
    true,
    `slirp4netns (${SLIRP4NETNS}) is attached: ${warnings}`,
  );
  assert.match(launch.isolation.description, /R reaches the network through slirp4netns/);
  assertTapUp(launch.pid);
  const slirp = slirpPidsFor(launch.pid);
  assert.equal(slirp.length, 1, 'one slirp4netns for the namespace');
  return slirp;
}

/** Sign-ins the intruder watches at least, and at most while it has caught no helper run. */
const SIGN_INS = 30;
const MAX_SIGN_INS = 300;

// The intruder walks /proc over and over while the victim signs in through its launch's agent
// (each sign-in runs the helper, which gets the password on its stdin from rserver, once or
// twice: the agent hands no cookie out twice, so it signs in at most once a second): it opens
// no descriptor, environment or memory of the victim's processes, and neither the password nor
// the hex the helper compares shows in anything it reads, the command lines of every process
// included. It must have seen the victim's processes, and caught the helper at least once.
async function watchSignIns(
  t: { diagnostic(message: string): void },
  launched: LaunchedAs,
  victim: TestUser,
  intruder: TestUser,
): Promise<void> {
  const password = readFileSync(join(launched.dir, 'password'), 'utf8');
  const helper = join(launched.dir, 'sign-in-helper');
  const secrets = [password, Buffer.from(password).toString('hex')];
  const scan = await startScanAs(intruder, victim, helper, secrets);
  let signIns = 0;
  let report: ScanReport;
  try {
    while (signIns < SIGN_INS || (scan.helperRuns() === 0 && signIns < MAX_SIGN_INS)) {
      const cookies = await launched.signIn();
      assert.ok(cookieJar({ 'set-cookie': cookies }).get('user-id'), JSON.stringify(cookies));
      signIns++;
    }
  } finally {
    report = await scan.finish();
  }
  t.diagnostic(
    `${signIns} sign-ins: the intruder walked /proc ${report.passes} times, met ${report.victimProcesses} processes of the victim, caught ${report.helperRuns} runs of the helper (${report.helperProcesses} of its processes), was refused ${JSON.stringify(report.refused)} and read ${report.readable} other files`,
  );
  assert.deepEqual(report.opened, [], 'the intruder opened none of the victim’s fds, environ, mem');
  assert.deepEqual(report.secretSeen, [], 'the password showed in nothing the intruder read');
  assert.ok(report.victimProcesses > 0, 'the intruder saw the victim’s processes');
  assert.ok(report.helperRuns > 0, `the intruder caught the helper (${signIns} sign-ins)`);
  const refusals = Object.keys(report.refused);
  assert.ok(
    refusals.includes('EACCES') || refusals.includes('EPERM'),
    JSON.stringify(report.refused),
  );
  // Besides EACCES/EPERM, only a process that ended between the walk and the open.
  for (const code of refusals) assert.match(code, /^(EACCES|EPERM|ENOENT|ESRCH)$/);
}

// A launch by `user` of the double as `release`: the double's variant, the user's home, runtime
// and data directories, all in a directory of the user's own.
// `home`: the user's home of an earlier launch, whose state (the instance's cookie key…) it keeps.
async function launchAs(
  user: TestUser,
  release: string,
  launch: LaunchOptions = {},
  home = makeTempDir('rsp-victim-'),
): Promise<LaunchedAs> {
  const env = makeUserEnv(user, home);
  const bin = join(home, 'bin');
  mkdirSync(bin, { mode: 0o755, recursive: true });
  const rserver = await writeRserverVariant(
    bin,
    { RSERVER_DOUBLE_RELEASE: release },
    'rserver',
    readableByOthers(RSERVER_DOUBLE),
  );
  return launchRServerAs(user, { r: FAKE_R, timeout: 15_000, ...launch, rserver }, env);
}

describe(
  `an rserver without --www-socket (${OLD})`,
  { skip: isRoot ? false : notRootReason },
  () => {
    const users = useUsers('victim', 'intruder', 'second');

    test('namespace, launched by an ordinary user: the relay, the sign-in, R, and nothing another user can reach', async (t) => {
      const r = requireRealR(t);
      if (r === undefined) return;
      const { victim, intruder } = users;
      const launched = await launchAs(victim, OLD, { r, instance: 'ns' });
      try {
        assert.equal(launched.isolation.level, 'namespace');
        assert.equal(
          readFileSync(`/proc/${launched.pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1],
          String(victim.uid),
          'rserver runs as the victim',
        );
        // rserver listens on 127.0.0.1:8787 of its own namespace: not in the host's.
        const port = getWwwPort(launched.pid);
        assert.equal(port, 8787);
        const listening = await listeningPortsAs(intruder);
        assert.ok(!listening.includes(8787), `no port 8787 in ss -ltn: ${listening.join(' ')}`);
        assert.equal(connectAs(intruder, 8787), 'ECONNREFUSED');
        assert.equal(connectAs(intruder, launched.socketPath), 'EACCES');
        const password = runAs(intruder, 'cat', [join(launched.dir, 'password')]);
        assert.notEqual(password.code, 0);
        assert.match(password.out, /Permission denied/);
        // Nor the helper, nor rserver's descriptors (the pipe it writes the helper's input to)
        // or its environment.
        for (const path of [
          join(launched.dir, 'sign-in-helper'),
          `/proc/${launched.pid}/environ`,
          `/proc/${launched.pid}/fd/0`,
        ]) {
          const read = runAs(intruder, 'cat', [path]);
          assert.notEqual(read.code, 0, path);
          assert.match(read.out, /Permission denied/, path);
        }
        const fds = runAs(intruder, 'ls', [`/proc/${launched.pid}/fd`]);
        assert.match(fds.out, /Permission denied/);
        // The password is in no command line and no environment of rserver's processes.
        const secret = readFileSync(join(launched.dir, 'password'), 'utf8');
        for (const { pid } of readInstanceProcesses(launched.dir)) {
          for (const file of ['cmdline', 'environ']) {
            assert.ok(
              !readFileSync(`/proc/${pid}/${file}`, 'latin1').includes(secret),
              `${pid} ${file}`,
            );
          }
        }
        const jar = await openWith(launched.socketPath, await launched.signIn());
        assert.deepEqual(await evaluate({ socketPath: launched.socketPath }, jar, '1+1'), {
          result: { output: '[1] 2' },
        });
        await watchSignIns(t, launched, victim, intruder);
        const slirp = checkOutbound(t, launched, victim);
        await stopAndCheck(launched, slirp);
      } finally {
        await launched.stop();
      }
    });

    test('namespace, launched by root: slirp4netns attached, and nothing left after the stop', async (t) => {
      const rserver = await launchRServer({
        ...options,
        instance: 'ns-root',
        rserver: await variant({ RSERVER_DOUBLE_RELEASE: OLD }),
      });
      try {
        assert.equal(rserver.isolation.level, 'namespace');
        await signInAndOpen(rserver);
        const slirp = checkOutbound(t, rserver);
        await rserver.stop();
        await assertNothingLeft(placesOf(rserver), slirp);
      } finally {
        await rserver.stop();
      }
    });

    test('a crash of rserver leaves nothing of the namespace, the relay or the password', async () => {
      const rserver = await launchRServer({
        ...options,
        instance: 'crash',
        rserver: await variant({
          RSERVER_DOUBLE_RELEASE: OLD,
          RSERVER_DOUBLE_EXIT_AFTER_MS: '1500',
        }),
      });
      await signInAndOpen(rserver);
      const slirp = rserver.isolation.outbound ? slirpPidsFor(rserver.pid) : [];
      const exit = await rserver.exited;
      assert.equal(exit.code, 1);
      await assertNothingLeft(placesOf(rserver), slirp);
    });

    test('password, launched by an ordinary user: the port is reachable, the sign-in page is all another user gets', async () => {
      const { victim, intruder } = users;
      const launched = await launchAs(victim, OLD, { instance: 'pw', isolation: 'password' });
      try {
        assert.equal(launched.isolation.level, 'password');
        assert.match(launched.isolation.warnings.join('\n'), /every user of this host can connect/);
        const port = getWwwPort(launched.pid);
        assert.ok(Number.isInteger(port) && port > 0 && port !== 8787, String(port));
        assert.ok((await listeningPortsAs(intruder)).includes(port), 'the port is the host’s');
        assert.equal(connectAs(intruder, port), 'CONNECTED');
        assert.equal(connectAs(intruder, launched.socketPath), 'EACCES');
        const password = runAs(intruder, 'cat', [join(launched.dir, 'password')]);
        assert.match(password.out, /Permission denied/);
        // The intruder, as itself: the sign-in page, then every guess with a valid CSRF token.
        const secret = readFileSync(join(launched.dir, 'password'), 'utf8');
        const wrong = [
          '',
          ' ',
          'password',
          `${secret}\n`,
          `${secret}\r\n`,
          `${secret} `,
          ` ${secret}`,
          `${secret}\u0000`,
          `\u0000${secret}`,
          secret.slice(1),
          secret.slice(0, -1),
          `${secret}x`,
          secret.toUpperCase(),
          encodeURIComponent(`${secret}=`),
          'pässwörd',
          '%00',
          "' OR 1=1 --",
          '$(cat password)',
          '`cat password`',
          '*',
          'x'.repeat(10_000),
          `${secret}${'x'.repeat(5000)}`,
        ];
        const attempts = [
          ...wrong.map((password) => ({ username: victim.name, password })),
          // Its own account, and the owner's password with it: the helper checks both.
          { username: intruder.name, password: secret },
          { username: '', password: secret },
          { username: 'root', password: secret },
        ];
        const answers = guessAs(intruder, port, attempts);
        assert.equal(answers.page, 200, 'the intruder gets the sign-in page');
        assert.equal(answers.results.length, attempts.length);
        answers.results.forEach((answer, i) => {
          const what = JSON.stringify(attempts[i]).slice(0, 80);
          assert.equal(answer.status, 302, what);
          assert.match(answer.location, /auth-sign-in\?.*error=/, what);
          assert.equal(answer.userId, false, what);
        });
        await openWith(launched.socketPath, await launched.signIn());
        await stopAndCheck(launched);
      } finally {
        await launched.stop();
      }
    });

    test("password: a session cookie of the instance's last launch signs nobody in to the next", async () => {
      const { victim } = users;
      const options = { instance: 'pwkey', isolation: 'password' } as const;
      const home = makeTempDir('rsp-victim-');
      const first = await launchAs(victim, OLD, options, home);
      let jar: Map<string, string>;
      try {
        jar = await openWith(first.socketPath, await first.signIn());
      } finally {
        await first.stop();
      }
      const second = await launchAs(victim, OLD, options, home);
      try {
        const page = await httpRequest(
          { socketPath: second.socketPath },
          { path: '/', headers: { Cookie: cookieHeader(jar), Host: 'h' } },
        );
        assert.equal(page.status, 302, 'the old cookie is no sign-in');
        assert.match(page.headers.location ?? '', /auth-sign-in/);
        await openWith(second.socketPath, await second.signIn());
      } finally {
        await second.stop();
      }
    });

    test('--isolation=socket refuses instead of weakening; 1.3 is refused with the reason', async () => {
      const old = await variant({ RSERVER_DOUBLE_RELEASE: OLD });
      await assert.rejects(
        launchRServer({ ...options, instance: 'sock', isolation: 'socket', rserver: old }),
        {
          code: 'EISOLATION',
          message: /--isolation=socket needs .*RStudio Server 2024\.04\.2 has no --www-socket/,
        },
      );
      assert.equal(existsSync(join(root, 'rt', 'sock.lock')), false);
      const ancient = await variant({ RSERVER_DOUBLE_RELEASE: '1.3.1093' });
      await assert.rejects(launchRServer({ ...options, instance: 'ancient', rserver: ancient }), {
        code: 'ERSERVERTOOOLD',
        message: /1\.3\.1093 is too old: rsession-proxy supports 1\.4 and later/,
      });
    });

    test(
      `${SHARED_TMP_RELEASE}: two ordinary users at once, each with a private /tmp; nothing goes to the host's ${SHARED_TMP}`,
      {
        skip: existsSync(SHARED_TMP)
          ? `${SHARED_TMP} exists on this host already: the test cannot tell whose it is`
          : false,
      },
      async () => {
        // Only a launch that wrongly uses the host's /tmp makes it; that one is removed.
        after(() => rmSync(SHARED_TMP, { recursive: true, force: true }));
        const { victim, second } = users;
        // One in its network namespace, one with the password alone: both get the private /tmp.
        const started = await Promise.allSettled([
          launchAs(victim, SHARED_TMP_RELEASE, { instance: 'tmp' }),
          launchAs(second, SHARED_TMP_RELEASE, { instance: 'tmp', isolation: 'password' }),
        ]);
        const launched = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
        try {
          for (const s of started) if (s.status === 'rejected') throw s.reason;
          const [first, other] = launched as [LaunchedAs, LaunchedAs];
          assert.equal(first.isolation.level, 'namespace');
          assert.equal(other.isolation.level, 'password');
          for (const each of launched) {
            assert.equal(each.isolation.privateTmp, true);
            await openWith(each.socketPath, await each.signIn());
          }
          assert.equal(existsSync(SHARED_TMP), false, `no ${SHARED_TMP} in the host's /tmp`);
          for (const each of launched) await stopAndCheck(each);
          assert.equal(existsSync(SHARED_TMP), false, `no ${SHARED_TMP} in the host's /tmp`);
        } finally {
          for (const each of launched) await each.stop();
        }
      },
    );

    test('2026.05: starts with a session-rpc-key of its own; the same build without it fails with the hint', async () => {
      const rserver = await launchRServer({
        ...options,
        instance: 'rpc',
        rserver: await variant({
          RSERVER_DOUBLE_RELEASE: '2026.05.0+100',
          RSERVER_DOUBLE_FAIL: 'session-rpc-key',
        }),
      });
      try {
        assert.equal(rserver.isolation.level, 'socket');
        const reply = await httpRequest(
          { socketPath: rserver.socketPath },
          { path: '/auth-sign-in?appUri=%2F' },
        );
        assert.equal(reply.status, 302);
      } finally {
        await rserver.stop();
      }
      await assert.rejects(
        launchRServer({
          ...options,
          instance: 'rpc-other',
          rserver: await variant({ RSERVER_DOUBLE_FAIL: 'session-rpc-key' }),
        }),
        { code: 'ERSERVEREXITED', hint: /2026\.05/ },
      );
      // The same 2026.05 build without the workaround: its --version names no release (a site's
      // own build), so the launcher cannot know it needs one; it fails, and the hint says why.
      const affected = await variant({
        RSERVER_DOUBLE_RELEASE: '2026.05.0+100',
        RSERVER_DOUBLE_FAIL: 'session-rpc-key',
      });
      const unnamed = join(dirname(affected), 'rserver-unnamed');
      writeFileSync(
        unnamed,
        `#!/bin/sh\n[ "$1" = --version ] && { echo 'RStudio Server (site build)'; exit 0; }\nexec '${affected}' "$@"\n`,
        { mode: 0o755 },
      );
      const said: string[] = [];
      await assert.rejects(
        launchRServer({
          ...options,
          instance: 'rpc-same',
          rserver: unnamed,
          logger: ({ message }) => said.push(message),
        }),
        {
          code: 'ERSERVEREXITED',
          message: /Permission denied\) \[path: \/var\/lib\/rstudio-server\/session-rpc-key\]/,
          hint: /RStudio Server 2026\.05 run as an ordinary user cannot read the root-owned/,
        },
      );
      assert.ok(
        said.some((line) => /^starting rserver/.test(line)),
        said.join('\n'),
      );
      assert.ok(!said.some((line) => /RSTUDIO_CONFIG_DIR/.test(line)), 'no workaround was made');
    });
  },
);
