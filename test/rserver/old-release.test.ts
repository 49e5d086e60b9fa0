// Releases without --www-socket (before 2024.12.0), launched for real against the double: in a
// network namespace of their own with the relay (and slirp4netns when installed), or with the
// password alone; a real second user tries to reach them. Also the private /tmp of releases up to
// 2022.07 and the 2026.05 session-rpc-key workaround.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { launchRServer, type RServerProcess } from '../../lib/index.js';
import { cookieHeader, cookieJar, httpRequest, type HttpTarget } from '../helpers/http-client.js';
import { makeLaunchEnv } from '../helpers/launch-env.js';
import { readInstanceProcesses } from '../helpers/leftovers.js';
import { waitUntil } from '../helpers/proc.js';
import { findSessionPids, requireRealR, makeVariantWriter } from '../helpers/rserver-double.js';
import { asUser, isRoot, notRootReason, useUsers, type TestUser } from '../helpers/users.js';

const OLD = '2024.04.2+764';
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

// The ports listening in the host's network namespace, as `ss -ltn` shows them to `user`.
function listeningPortsAs(user: TestUser): number[] {
  const { out } = runAs(user, 'ss', ['-Hltn']);
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[3] ?? '')
    .filter((local) => local.includes(':'))
    .map((local) => Number(local.slice(local.lastIndexOf(':') + 1)));
}

// The port rserver was told to listen on, from its command line.
function getWwwPort(rserver: RServerProcess): number {
  const args = readFileSync(`/proc/${rserver.pid}/cmdline`, 'utf8').split('\0');
  return Number(args.find((arg) => arg.startsWith('--www-port='))?.slice('--www-port='.length));
}

// Signs in through the launch's own sign-in (as the adapter does) and checks the IDE answers.
async function signInAndOpen(rserver: RServerProcess): Promise<Map<string, string>> {
  assert.ok(rserver.signIn, 'a password launch signs in on the user’s behalf');
  const cookies = await rserver.signIn({ headers: { host: 'h' } });
  const jar = cookieJar({ 'set-cookie': [...cookies.setCookie] });
  assert.ok(jar.get('user-id'));
  const page = await httpRequest(
    { socketPath: rserver.socketPath },
    { path: '/', headers: { Cookie: cookieHeader(jar), Host: 'h' } },
  );
  assert.equal(page.status, 200);
  return jar;
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

// Nothing of the launch is left: no process of the instance (rserver, the relay, rsessions),
// no slirp4netns for it, no socket, no password or helper.
async function assertNothingLeft(rserver: Launched, slirpPids: number[] = []): Promise<void> {
  const { dir, dataDir } = rserver.instance;
  await waitUntil(
    () => readInstanceProcesses(dir).length === 0 && findSessionPids(dataDir).length === 0,
    10_000,
    "the instance's processes to end",
  );
  for (const pid of slirpPids)
    assert.equal(existsSync(`/proc/${pid}/stat`), false, 'slirp4netns ended');
  assert.equal(existsSync(rserver.socketPath), false, 'relay socket removed');
  assert.equal(existsSync(join(dir, 'password')), false, 'password removed');
  assert.equal(existsSync(join(dir, 'sign-in-helper')), false, 'helper removed');
}

// The pids of the slirp4netns processes attached to a namespace whose init is a child of `leader`.
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

describe(
  `an rserver without --www-socket (${OLD})`,
  { skip: isRoot ? false : notRootReason },
  () => {
    const users = useUsers('intruder');

    test('namespace: the relay, the sign-in, R, and nothing another user can reach', async (t) => {
      const r = requireRealR(t);
      if (r === undefined) return;
      const rserver = await launchRServer({
        ...options,
        r,
        instance: 'ns',
        rserver: await variant({ RSERVER_DOUBLE_RELEASE: OLD }),
      });
      try {
        assert.equal(rserver.isolation.level, 'namespace');
        const intruder = users.intruder;
        // rserver listens on 127.0.0.1:8787 of its own namespace: not in the host's.
        assert.ok(!listeningPortsAs(intruder).includes(8787), 'no port of the victim in ss -ltn');
        assert.equal(connectAs(intruder, 8787), 'ECONNREFUSED');
        assert.equal(connectAs(intruder, rserver.socketPath), 'EACCES');
        const password = runAs(intruder, 'cat', [join(rserver.instance.dir, 'password')]);
        assert.notEqual(password.code, 0);
        assert.match(password.out, /Permission denied/);
        // Nor the helper, nor rserver's descriptors (the pipe it writes the helper's input to)
        // or its environment.
        for (const path of [
          join(rserver.instance.dir, 'sign-in-helper'),
          `/proc/${rserver.pid}/environ`,
          `/proc/${rserver.pid}/fd/0`,
        ]) {
          const read = runAs(intruder, 'cat', [path]);
          assert.notEqual(read.code, 0, path);
          assert.match(read.out, /Permission denied/, path);
        }
        const fds = runAs(intruder, 'ls', [`/proc/${rserver.pid}/fd`]);
        assert.match(fds.out, /Permission denied/);
        // The password is in no command line and no environment of rserver's processes.
        const secret = readFileSync(join(rserver.instance.dir, 'password'), 'utf8');
        for (const { pid } of readInstanceProcesses(rserver.instance.dir)) {
          for (const file of ['cmdline', 'environ']) {
            assert.ok(
              !readFileSync(`/proc/${pid}/${file}`, 'latin1').includes(secret),
              `${pid} ${file}`,
            );
          }
        }
        const jar = await signInAndOpen(rserver);
        assert.deepEqual(await evaluate({ socketPath: rserver.socketPath }, jar, '1+1'), {
          result: { output: '[1] 2' },
        });
        let slirp: number[] = [];
        if (rserver.isolation.outbound) {
          // Attached: the tap device is up in the namespace with slirp4netns's address and route.
          const nsenter = (args: string[]) =>
            execFileSync('nsenter', ['-t', String(rserver.pid), '-n', 'ip', ...args], {
              encoding: 'utf8',
            });
          assert.match(nsenter(['-o', 'addr', 'show', 'tap0']), /inet 10\.0\.2\.100\/24/);
          assert.match(nsenter(['link', 'show', 'tap0']), /state UP|,UP/);
          assert.match(nsenter(['route', 'show', 'default']), /default via 10\.0\.2\.2 dev tap0/);
          slirp = slirpPidsFor(rserver.pid);
          assert.equal(slirp.length, 1, 'one slirp4netns for the namespace');
        } else {
          assert.match(rserver.isolation.warnings.join('\n'), /R will not reach the internet/);
        }
        await rserver.stop();
        await assertNothingLeft(rserver, slirp);
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
      await assertNothingLeft(rserver, slirp);
    });

    test('password: the port is reachable, the sign-in page is all another user gets', async () => {
      const rserver = await launchRServer({
        ...options,
        instance: 'pw',
        isolation: 'password',
        rserver: await variant({ RSERVER_DOUBLE_RELEASE: OLD }),
      });
      try {
        assert.equal(rserver.isolation.level, 'password');
        assert.match(rserver.isolation.warnings.join('\n'), /every user of this host can connect/);
        const port = getWwwPort(rserver);
        assert.ok(Number.isInteger(port) && port > 0);
        const intruder = users.intruder;
        assert.equal(connectAs(intruder, port), 'CONNECTED');
        assert.equal(connectAs(intruder, rserver.socketPath), 'EACCES');
        const password = runAs(intruder, 'cat', [join(rserver.instance.dir, 'password')]);
        assert.match(password.out, /Permission denied/);
        // The intruder, as itself: the sign-in page, then every guess with a valid CSRF token.
        const secret = readFileSync(join(rserver.instance.dir, 'password'), 'utf8');
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
          ...wrong.map((password) => ({ username: 'root', password })),
          // Its own account, and the owner's password with it: the helper checks both.
          { username: intruder.name, password: secret },
          { username: '', password: secret },
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
        await signInAndOpen(rserver);
      } finally {
        await rserver.stop();
      }
      await assertNothingLeft(rserver);
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

    test('2022.07: a private /tmp, so nothing goes to the shared /tmp/rstudio-server', async () => {
      const before = existsSync('/tmp/rstudio-server');
      const rserver = await launchRServer({
        ...options,
        instance: 'tmp',
        rserver: await variant({ RSERVER_DOUBLE_RELEASE: '2022.07.2+576' }),
      });
      try {
        assert.equal(rserver.isolation.privateTmp, true);
        await signInAndOpen(rserver);
        assert.equal(existsSync('/tmp/rstudio-server'), before, 'the host /tmp is untouched');
      } finally {
        await rserver.stop();
      }
      await assertNothingLeft(rserver);
    });

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
