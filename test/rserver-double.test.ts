// The rserver test double must behave as shared/RSERVER.md says rserver does; these tests run it
// as a real process, on real sockets in temp dirs, and look at what it does from outside.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import {
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { canConnect } from './helpers/double-process.js';
import { cookieHeader, cookieJar, httpRequest, type HttpReply } from './helpers/http-client.js';
import { isAlive, pidsWithEnv, processStat, waitUntil } from './helpers/proc.js';
import {
  asUser,
  createUser,
  isRoot,
  notRootReason,
  removeUser,
  type TestUser,
} from './helpers/users.js';
import {
  FAKE_R,
  RSERVER_DOUBLE,
  findSessionPids,
  writeRserverVariant,
} from './helpers/rserver-double.js';
import { IDE_PAGE_TITLE } from './fixtures/rserver/ide-page.js';

// Every process this file starts carries this entry, so that `after` can find and stop them all.
const RUN_KEY = 'RSERVER_DOUBLE_TEST_RUN';
const RUN_VALUE = randomUUID();
const RUN_MARKER = `${RUN_KEY}=${RUN_VALUE}`;
const LOG_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \[rserver\] (ERROR|WARNING|INFO|DEBUG) /;
const tempDirs: string[] = [];

// The processes of this file: every double carries RUN_MARKER; its rsessions, whose environment
// rserver builds anew, are found by their data directory.
function testPids(): number[] {
  return [...pidsWithEnv(RUN_MARKER), ...tempDirs.flatMap((dir) => findSessionPids(dir))];
}

after(async () => {
  for (const pid of testPids()) process.kill(pid, 'SIGKILL');
  await waitUntil(() => testPids().length === 0, 5000, 'test processes to end');
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rsd-'));
  tempDirs.push(dir);
  return dir;
}

interface Layout {
  dir: string;
  socket: string;
  dataDir: string;
  dbDir: string;
  dbConf: string;
  keyFile: string;
}

// A private directory with room for everything rserver creates.
async function makeLayout(): Promise<Layout> {
  const dir = await tempDir();
  const layout = {
    dir,
    socket: join(dir, 'run', 'rserver.sock'),
    dataDir: join(dir, 'data'),
    dbDir: join(dir, 'db'),
    dbConf: join(dir, 'database.conf'),
    keyFile: join(dir, 'secure-cookie-key'),
  };
  await writeFile(layout.dbConf, `provider=sqlite\ndirectory=${layout.dbDir}\n`);
  return layout;
}

// The arguments a user-mode launcher passes, on the layout's socket; `--name=value` extras
// replace the launcher's value of the same option.
function launchArgs(layout: Layout, ...extra: string[]): string[] {
  const defaults = [
    '--server-daemonize=0',
    '--auth-none=1',
    `--www-socket=${layout.socket}`,
    `--server-data-dir=${layout.dataDir}`,
    `--database-config-file=${layout.dbConf}`,
    `--secure-cookie-key-file=${layout.keyFile}`,
    `--rsession-which-r=${FAKE_R}`,
    '--www-verify-user-agent=0',
  ];
  const name = (arg: string): string => arg.split('=')[0] ?? arg;
  const replaced = new Set(extra.map(name));
  return [...defaults.filter((arg) => !replaced.has(name(arg))), ...extra];
}

function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, [RUN_KEY]: RUN_VALUE, ...extra };
}

// The environment of the double run as another user (asUser adds PATH): the run's mark and `extra`.
function runEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { [RUN_KEY]: RUN_VALUE, ...extra };
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Started {
  child: ChildProcess;
  pid: number;
  exited: Promise<Finished>;
  stderr: () => string;
}

// Spawns a process and collects its output; `exited` settles when it ends.
function launch(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  detached = false,
): Started {
  const child = spawn(command, args, { env, detached, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, pid: child.pid ?? -1, exited, stderr: () => stderr };
}

// Runs the double (or another command) to its end, killing it after `timeoutMs`.
async function runToExit(
  args: readonly string[],
  env: NodeJS.ProcessEnv = childEnv(),
  command = RSERVER_DOUBLE,
  timeoutMs = 10_000,
): Promise<Finished> {
  const started = launch(command, args, env);
  const timer = setTimeout(() => started.child.kill('SIGKILL'), timeoutMs);
  try {
    return await started.exited;
  } finally {
    clearTimeout(timer);
  }
}

// Starts the double and waits until its socket accepts connections.
async function startDouble(
  layout: Layout,
  extraArgs: readonly string[] = [],
  env: Record<string, string | undefined> = {},
  options: { command?: string; detached?: boolean } = {},
): Promise<Started> {
  const started = launch(
    options.command ?? RSERVER_DOUBLE,
    launchArgs(layout, ...extraArgs),
    childEnv({ USER: 'alice', ...env }),
    options.detached ?? false,
  );
  let finished: Finished | undefined;
  void started.exited.then((result) => (finished = result));
  await waitUntil(
    async () => {
      if (finished) {
        throw new Error(
          `the double exited (${finished.code}) before listening: ${finished.stderr}`,
        );
      }
      return canConnect(layout.socket);
    },
    10_000,
    'the double to listen',
  );
  return started;
}

async function stopDouble(started: Started): Promise<Finished> {
  if (isAlive(started.pid)) started.child.kill('SIGKILL');
  return started.exited;
}

// The lines of stderr that are log lines of the given level.
function logLines(stderr: string, level: string): string[] {
  return stderr.split('\n').filter((line) => LOG_LINE.test(line) && line.includes(`] ${level} `));
}

describe('command line', () => {
  test('--help prints the groups in order and lays lines out like Boost', async () => {
    const result = await runToExit(['--help']);
    assert.equal(result.code, 0);
    assert.equal(result.stderr, '');
    const help = result.stdout;
    const groups = [
      'verify',
      'server',
      'www',
      'rsession',
      'database',
      'auth',
      'monitor',
      'general',
    ];
    const positions = groups.map((group) => help.indexOf(`\n${group}:\n`));
    assert.ok(
      positions.every((position) => position >= 0),
      `every group in ${help}`,
    );
    assert.deepEqual(
      [...positions].sort((a, b) => a - b),
      positions,
    );

    const lines = help.split('\n');
    const address = lines.find((line) => line.startsWith('  --www-address '));
    assert.match(
      address ?? '',
      /^ {2}--www-address arg \(=0\.0\.0\.0\) {10}The network address that/,
    );
    assert.equal(address?.indexOf('The network'), 40);
    const socket = lines.find((line) => line.startsWith('  --www-socket '));
    assert.match(socket ?? '', /^ {2}--www-socket arg {22}\S/);
    assert.ok(
      lines.every((line) => line.length <= 80),
      'lines wrap at 80 columns',
    );
    const wrapped = lines[lines.indexOf(address) + 1] ?? '';
    assert.match(wrapped, /^ {40}\S/);
    // A first column wider than 39 moves the description to the next line.
    const pidFile = lines.findIndex((line) => line.startsWith('  --server-pid-file '));
    assert.equal(lines[pidFile], '  --server-pid-file arg (=/var/run/rstudio-server.pid)');
    assert.match(lines[pidFile + 1] ?? '', /^ {40}\S/);
    // Defaults that depend on privilege.
    assert.ok(lines.some((line) => line.startsWith(`  --auth-none arg (=${isRoot ? 0 : 1})`)));
    assert.ok(
      lines.some((line) => line.startsWith(`  --server-daemonize arg (=${isRoot ? 1 : 0})`)),
    );
    // Hidden options are accepted but not listed.
    assert.ok(!help.includes('--auth-pam-helper-path'));
    assert.equal((await runToExit(['--auth-pam-helper-path=/bin/true', '--help'])).code, 0);
  });

  test('a release before 2024.12.0 has no --www-socket', async () => {
    const dir = await tempDir();
    const old = await writeRserverVariant(dir, { RSERVER_DOUBLE_RELEASE: '2024.09.1+394' });
    const help = await runToExit(['--help'], childEnv(), old);
    assert.equal(help.code, 0);
    assert.ok(!help.stdout.includes('--www-socket'));
    assert.ok(help.stdout.includes('  --www-thread-pool-size arg (=2)'));
    const current = await runToExit(['--help']);
    assert.ok(current.stdout.includes('  --www-socket arg'));
    assert.ok(current.stdout.includes('  --www-thread-pool-size arg (=6)'));

    const refused = await runToExit(['--www-socket=/tmp/x.sock'], childEnv(), old);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, "unrecognised option '--www-socket' on command line\n");
    assert.match((await runToExit(['--version'], childEnv(), old)).stdout, /^2024\.09\.1\+394 /);
  });

  test('option errors are printed even without logging, and exit 1', async () => {
    const cases: [string[], string][] = [
      [['--foo'], "unrecognised option '--foo' on command line"],
      [
        ['--auth-none'],
        "the required argument for option '--auth-none' is missing on command line",
      ],
      [
        ['--www-port', '--auth-none=1'],
        "the required argument for option '--www-port' is missing on command line",
      ],
      [
        ['--auth-none=maybe'],
        "the argument ('maybe') for option '--auth-none' is invalid. Valid choices are 'on|off', 'yes|no', '1|0' and 'true|false' on command line",
      ],
      [
        ['--www-thread-pool-size=many'],
        "the argument ('many') for option '--www-thread-pool-size' is invalid on command line",
      ],
      [
        ['--www-port=1', '--www-port=2'],
        "option '--www-port' cannot be specified more than once on command line",
      ],
      [['--help=1'], "option '--help' does not take any arguments on command line"],
    ];
    for (const [args, line] of cases) {
      const result = await runToExit(args);
      assert.equal(result.code, 1, args.join(' '));
      assert.equal(result.stderr, `${line}\n`, args.join(' '));
    }
    // With logging on, the same error is also a log line.
    const logged = await runToExit(['--foo'], childEnv({ RS_LOGGER_TYPE: 'stderr' }));
    assert.equal(logged.stderr.split('\n')[0], "unrecognised option '--foo' on command line");
    assert.match(
      logLines(logged.stderr, 'ERROR')[0] ?? '',
      /ERROR unrecognised option '--foo' on command line; LOGGED FROM: /,
    );
  });

  test('values are read as --name=value and --name value', async () => {
    for (const args of [['--auth-none', 'yes'], ['--auth-none=off'], ['--www-same-site', 'lax']]) {
      const result = await runToExit([...args, '--test-config']);
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    }
    const sameSite = await runToExit(['--www-same-site', 'strict', '--test-config']);
    assert.equal(sameSite.code, 1);
    assert.equal(sameSite.stderr, 'Invalid SameSite option: strict\n');
  });

  test('the config file: read when it exists, the command line wins, errors named', async () => {
    const configDir = await tempDir();
    const env = childEnv({ RSTUDIO_CONFIG_DIR: configDir });
    const noFile = await runToExit(['--help'], env);
    assert.ok(noFile.stdout.includes('  --config-file arg '));
    assert.ok(!noFile.stdout.includes('--config-file arg (='));

    const conf = join(configDir, 'rserver.conf');
    await writeFile(conf, '# comment\nwww-same-site = strict\n');
    const help = await runToExit(['--help'], env);
    assert.ok(help.stdout.includes(`  --config-file arg (=${conf})`));
    const fromFile = await runToExit(['--test-config'], env);
    assert.equal(fromFile.code, 1);
    assert.equal(fromFile.stderr, 'Invalid SameSite option: strict\n');
    assert.equal((await runToExit(['--www-same-site=lax', '--test-config'], env)).code, 0);
    assert.equal((await runToExit(['--config-file=none', '--test-config'], env)).code, 0);

    const missing = join(configDir, 'missing.conf');
    const notThere = await runToExit([`--config-file=${missing}`, '--test-config'], env);
    assert.equal(notThere.code, 1);
    assert.equal(notThere.stderr, `Unable to open config file: ${missing}\n`);

    const bad = join(configDir, 'bad.conf');
    await writeFile(bad, 'www-port=8080\nno-such-option=1\n');
    const unknown = await runToExit([`--config-file=${bad}`, '--test-config'], env);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, `Error reading ${bad}: unrecognised option 'no-such-option'\n`);
  });
});

describe('start-up on a Unix socket', () => {
  test('creates its files and directories with rserver modes', async () => {
    const layout = await makeLayout();
    await mkdir(join(layout.dir, 'run'), { mode: 0o700 });
    await writeFile(layout.socket, 'a stale file');
    await mkdir(layout.dataDir, { mode: 0o755 });
    const double = await startDouble(layout, [], {
      RS_LOGGER_TYPE: 'stderr',
      RS_LOG_LEVEL: 'INFO',
    });

    const socket = await lstat(layout.socket);
    assert.ok(socket.isSocket(), 'the stale file was replaced by a socket');
    assert.equal(socket.mode & 0o777, 0o600);
    assert.equal(
      (await stat(join(layout.dir, 'run'))).mode & 0o7777,
      0o700,
      'existing parent untouched',
    );
    assert.equal((await stat(layout.dataDir)).mode & 0o7777, 0o1777, 'data dir made 1777');
    assert.ok(
      (
        await lstat(join(layout.dataDir, 'rstudio-rserver', 'session-server-rpc.socket'))
      ).isSocket(),
    );
    const key = await stat(layout.keyFile);
    assert.equal(key.mode & 0o777, 0o600);
    assert.match(await readFile(layout.keyFile, 'utf8'), /^[0-9a-f]{32}$/);
    assert.equal((await stat(join(layout.dbDir, 'rstudio-os.sqlite'))).mode & 0o777, 0o600);
    const answer = await httpRequest({ socketPath: layout.socket }, { headers: { Host: 'h' } });
    assert.equal(answer.status, 302);
    assert.ok(logLines(double.stderr(), 'INFO').some((line) => line.includes(layout.socket)));
    await stopDouble(double);
  });

  test('creates a missing socket directory world-writable and sticky', async () => {
    const layout = await makeLayout();
    const double = await startDouble(layout);
    assert.equal((await stat(join(layout.dir, 'run'))).mode & 0o7777, 0o1777);
    assert.equal((await lstat(layout.socket)).mode & 0o777, 0o600);
    await stopDouble(double);
  });

  test('a second double on the same socket path silently takes it over', async () => {
    const layout = await makeLayout();
    const first = await startDouble(layout);
    const firstInode = (await lstat(layout.socket)).ino;
    const env = childEnv({ USER: 'alice', RS_LOGGER_TYPE: 'stderr' });
    const second = launch(RSERVER_DOUBLE, launchArgs(layout), env);
    await waitUntil(
      async () => (await lstat(layout.socket).catch(() => undefined))?.ino !== firstInode,
      10_000,
      'the second double to replace the socket',
    );
    await waitUntil(() => canConnect(layout.socket), 10_000, 'the second double to listen');
    await stopDouble(first);
    const answer = await httpRequest({ socketPath: layout.socket }, { headers: { Host: 'h' } });
    assert.equal(answer.status, 302, 'the path now reaches the second double');
    assert.deepEqual(logLines(second.stderr(), 'ERROR'), [], 'no address-in-use error');
    await stopDouble(second);
  });

  test('listens on TCP when no socket is given', async () => {
    const layout = await makeLayout();
    const args = launchArgs(layout, '--www-socket=', '--www-address=127.0.0.1', '--www-port=0');
    const env = childEnv({ RS_LOGGER_TYPE: 'stderr', RS_LOG_LEVEL: 'INFO', USER: 'alice' });
    const double = launch(RSERVER_DOUBLE, args, env);
    let port = 0;
    await waitUntil(
      () => {
        port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(double.stderr())?.[1] ?? 0);
        return port > 0;
      },
      10_000,
      'the TCP port',
    );
    const answer = await httpRequest({ host: '127.0.0.1', port }, { headers: { Host: 'h' } });
    assert.equal(answer.headers.location, 'http://h/auth-sign-in?appUri=%2F');
    assert.ok(!existsSync(layout.socket));
    await stopDouble(double);
  });

  test('an existing key file is the HMAC key; an empty one stops the start', async () => {
    const layout = await makeLayout();
    await writeFile(layout.keyFile, '', { mode: 0o600 });
    const result = await runToExit(launchArgs(layout), childEnv({ RS_LOGGER_TYPE: 'stderr' }));
    assert.equal(result.code, 1);
    assert.match(
      logLines(result.stderr, 'ERROR')[0] ?? '',
      new RegExp(
        `ERROR system error 2 \\(No such file or directory\\) \\[path: ${layout.keyFile}\\]; OCCURRED AT `,
      ),
    );
    assert.ok(!existsSync(layout.socket));
  });

  test('a failed start is silent without RS_LOGGER_TYPE=stderr', async () => {
    const layout = await makeLayout();
    const args = launchArgs(layout, '--rsession-which-r=/nonexistent/R');
    const silent = await runToExit(args);
    assert.equal(silent.code, 1);
    assert.equal(silent.stderr, '');
    assert.equal(silent.stdout, '');
    const logged = await runToExit(args, childEnv({ RS_LOGGER_TYPE: 'stderr' }));
    assert.equal(logged.code, 1);
    const errors = logLines(logged.stderr, 'ERROR');
    assert.match(
      errors[0] ?? '',
      /\[rserver\] ERROR Unable to determine real path of R script \/nonexistent\/R \(system error 2 \(No such file or directory\)\); LOGGED FROM: \S.* src\/\S+:\d+$/,
    );
    // RS_LOG_LEVEL filters: INFO lines only appear when asked for.
    assert.equal(logLines(logged.stderr, 'INFO').length, 0);
  });

  test('R is found from the option, then RSTUDIO_WHICH_R, then PATH, then /usr/bin/R', async () => {
    const layout = await makeLayout();
    // The first error line of a start with this --rsession-which-r and environment.
    const rError = async (whichR: string, env: Record<string, string>): Promise<string> => {
      const args = launchArgs(layout, `--rsession-which-r=${whichR}`);
      const result = await runToExit(args, childEnv({ RS_LOGGER_TYPE: 'stderr', ...env }));
      assert.equal(result.code, 1);
      return logLines(result.stderr, 'ERROR')[0] ?? '';
    };
    assert.match(await rError('/a/R', { RSTUDIO_WHICH_R: '/b/R' }), /R script \/a\/R /);
    assert.match(await rError('', { RSTUDIO_WHICH_R: '/b/R' }), /R script \/b\/R /);
    const bin = join(layout.dir, 'bin');
    await mkdir(bin);
    await symlink(FAKE_R, join(bin, 'R'));
    const onPath = await rError('', {
      PATH: `${bin}:/usr/bin:/bin`,
      RSERVER_DOUBLE_FAIL: 'r-not-found',
    });
    assert.match(onPath, new RegExp(`R script ${bin}/R `));
    if (!existsSync('/usr/bin/R') && !existsSync('/bin/R')) {
      assert.match(await rError('', { PATH: '/usr/bin:/bin' }), /R script \/usr\/bin\/R /);
    }
    const noExec = join(layout.dir, 'R');
    await writeFile(noExec, '#!/bin/sh\n', { mode: 0o644 });
    assert.match(await rError(noExec, {}), /Error reading R script/);
  });

  test('a socket path longer than 107 bytes fails like rserver, not truncated', async () => {
    const layout = await makeLayout();
    const long = join(layout.dir, 'x'.repeat(120 - layout.dir.length));
    const result = await runToExit(
      launchArgs(layout, `--www-socket=${long}`),
      childEnv({ RS_LOGGER_TYPE: 'stderr' }),
    );
    assert.equal(result.code, 1);
    assert.match(
      logLines(result.stderr, 'ERROR')[0] ?? '',
      /ERROR Unexpected exception: File name too long \[system:36\]; LOGGED FROM: int main\(int, char\* const\*\) src\/cpp\/server\/ServerMain\.cpp:975$/,
    );
    assert.ok(!existsSync(long));
    assert.ok(!existsSync(long.slice(0, 107)), 'no socket at the truncated path');
  });

  test('RSERVER_DOUBLE_FAIL reproduces each known start-up error', async () => {
    const layout = await makeLayout();
    const me = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .find((fields) => Number(fields[2]) === process.getuid?.())?.[0];
    const expected: Record<string, RegExp> = {
      'session-rpc-key':
        /ERROR system error 13 \(Permission denied\) \[path: \/var\/lib\/rstudio-server\/session-rpc-key\]; OCCURRED AT /,
      'r-not-found': new RegExp(
        `ERROR Unable to determine real path of R script ${FAKE_R} \\(system error 2 \\(No such file or directory\\)\\)`,
      ),
      'server-user': new RegExp(
        `ERROR Attempt to run server as user 'rstudio-server' \\(uid \\d+\\) from account '${me ?? ''}' \\(uid ${process.getuid?.() ?? -1}\\) without privilege, which is required to run as a different uid`,
      ),
      'data-dir': new RegExp(
        `ERROR system error 13 \\(Permission denied\\) \\[path: ${layout.dataDir}\\]`,
      ),
      'file-name-too-long': /ERROR Unexpected exception: File name too long \[system:36\]/,
      'unrecognised-option': /ERROR unrecognised option '--server-daemonize' on command line/,
    };
    for (const [failure, line] of Object.entries(expected)) {
      const logged = await runToExit(
        launchArgs(layout),
        childEnv({ RSERVER_DOUBLE_FAIL: failure, RS_LOGGER_TYPE: 'stderr' }),
      );
      assert.equal(logged.code, 1, failure);
      assert.match(logged.stderr, line, failure);
      assert.ok(!existsSync(layout.socket), `${failure}: never listened`);
      const silent = await runToExit(
        launchArgs(layout),
        childEnv({ RSERVER_DOUBLE_FAIL: failure }),
      );
      assert.equal(silent.code, 1, failure);
      const plain =
        failure === 'unrecognised-option'
          ? "unrecognised option '--server-daemonize' on command line\n"
          : '';
      assert.equal(silent.stderr, plain, failure);
    }
    const unknown = await runToExit(['--help'], childEnv({ RSERVER_DOUBLE_FAIL: 'nonsense' }));
    assert.equal(unknown.code, 2);
  });
});

describe('as an unprivileged user', { skip: !isRoot && notRootReason }, () => {
  let user = '';
  let uid = -1;
  let account: TestUser | undefined;

  before(() => {
    account = createUser('double');
    ({ name: user, uid } = account);
  });
  after(() => {
    removeUser(account);
  });

  // Runs the double as the throw-away user.
  function runAsUser(args: readonly string[], env: Record<string, string> = {}): Promise<Finished> {
    const [command, argv] = asUser(account as TestUser, RSERVER_DOUBLE, args, runEnv(env));
    return runToExit(argv, childEnv(), command);
  }

  async function userLayout(): Promise<Layout> {
    const layout = await makeLayout();
    await chown(layout.dir, uid, -1);
    return layout;
  }

  test('defaults follow privilege: auth-none on, no daemon', async () => {
    const help = await runAsUser(['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.ok(help.stdout.includes('  --auth-none arg (=1)'));
    assert.ok(help.stdout.includes('  --server-daemonize arg (=0)'));
  });

  test('a different server user is refused, silently unless logging', async () => {
    const layout = await userLayout();
    const args = [...launchArgs(layout), '--server-user=root'];
    const logged = await runAsUser(args, { RS_LOGGER_TYPE: 'stderr' });
    assert.equal(logged.code, 1);
    assert.match(
      logLines(logged.stderr, 'ERROR')[0] ?? '',
      new RegExp(
        `\\[rserver\\] ERROR Attempt to run server as user 'root' \\(uid 0\\) from account '${user}' \\(uid ${uid}\\) without privilege, which is required to run as a different uid; LOGGED FROM: `,
      ),
    );
    const silent = await runAsUser(args);
    assert.equal(silent.code, 1);
    assert.equal(silent.stderr, '');
  });

  test('an unwritable database directory stops the start', async () => {
    const layout = await userLayout();
    await mkdir(layout.dbDir, { mode: 0o755 });
    const result = await runAsUser([...launchArgs(layout), `--server-user=${user}`], {
      RS_LOGGER_TYPE: 'stderr',
    });
    assert.equal(result.code, 1);
    assert.match(
      logLines(result.stderr, 'ERROR')[0] ?? '',
      new RegExp(
        `ERROR system error 13 \\(Permission denied\\) \\[path: ${layout.dbDir}/rstudio-os\\.sqlite\\]`,
      ),
    );
  });

  test('starts as the current user and creates its files for that user', async () => {
    const layout = await userLayout();
    // Its session-rpc-key goes to the user's cache: the throw-away user has no home.
    const [command, argv] = asUser(
      account as TestUser,
      RSERVER_DOUBLE,
      [...launchArgs(layout), `--server-user=${user}`],
      runEnv({ RS_LOGGER_TYPE: 'stderr', RS_LOG_LEVEL: 'INFO', XDG_CACHE_HOME: layout.dir }),
    );
    const started = launch(command, argv, childEnv());
    await waitUntil(() => canConnect(layout.socket), 10_000, 'the double to listen');
    assert.equal((await lstat(layout.socket)).uid, uid);
    assert.ok(
      started.stderr().includes(`INFO Running as server user '${user}' (without privilege)`),
    );
    for (const pid of pidsWithEnv(RUN_MARKER)) {
      if (processStat(pid)?.ppid === started.pid) process.kill(pid, 'SIGTERM');
    }
    await started.exited;
  });
});

describe('HTTP', () => {
  const KEY = `test-key-${randomUUID()}`;
  let layout: Layout;
  let double: Started;

  before(async () => {
    layout = await makeLayout();
    await writeFile(layout.keyFile, KEY, { mode: 0o600 });
    const args = [
      '--www-root-path=/rs/',
      '--www-frame-origin=same',
      '--server-add-header=X-Extra: 1',
    ];
    double = await startDouble(layout, args, {
      RSERVER_DOUBLE_LONG_POLL_MS: '300',
    });
  });
  after(async () => {
    await stopDouble(double);
  });

  function get(path: string, headers: Record<string, string> = {}): Promise<HttpReply> {
    return httpRequest(
      { socketPath: layout.socket },
      { path, headers: { Host: 'example.org:8888', ...headers } },
    );
  }

  async function signIn(headers: Record<string, string> = {}): Promise<Map<string, string>> {
    const answer = await get('/auth-sign-in?appUri=%2F', headers);
    assert.equal(answer.status, 302);
    return cookieJar(answer.headers);
  }

  test('the sign-in chain: redirect, four cookies, redirect back, the IDE page', async () => {
    const first = await get('/');
    assert.equal(first.status, 302);
    assert.equal(first.headers.location, 'http://example.org:8888/rs/auth-sign-in?appUri=%2F');

    const signedIn = await get('/auth-sign-in?appUri=%2F');
    assert.equal(signedIn.status, 302);
    assert.equal(signedIn.headers['x-extra'], '1', '--server-add-header');
    assert.equal(signedIn.headers.location, 'http://example.org:8888/rs/');
    const setCookies = signedIn.headers['set-cookie'] ?? [];
    assert.equal(setCookies.length, 5);
    const byName = new Map(setCookies.map((line) => [line.split('=')[0] ?? '', line]));
    // The CSRF cookie under its current name and, since 2022.02, its old one too.
    assert.deepEqual([...byName.keys()].sort(), [
      'csrf-token',
      'persist-auth',
      'rs-csrf-token',
      'user-id',
      'user-list-id',
    ]);
    for (const line of setCookies) {
      assert.match(line, /; path=\/rs(;|$)/);
      assert.doesNotMatch(line, /secure/i);
      assert.match(line, /; HttpOnly/);
    }
    assert.equal(
      cookieJar(signedIn.headers).get('csrf-token'),
      cookieJar(signedIn.headers).get('rs-csrf-token'),
    );

    // The user-id cookie is `user|expires|hmac`, signed with the key file's contents.
    const jar = cookieJar(signedIn.headers);
    const [user, expires, hmac] = (jar.get('user-id') ?? '').split('|').map(decodeURIComponent);
    assert.equal(user, 'alice');
    assert.ok(Date.parse(expires ?? '') > Date.now());
    assert.equal(
      hmac,
      createHmac('sha256', KEY)
        .update(`alice${expires ?? ''}`)
        .digest('base64'),
    );

    const page = await get('/', { Cookie: cookieHeader(jar) });
    assert.equal(page.status, 200);
    const html = page.body.toString();
    assert.ok(html.includes(`<title>${IDE_PAGE_TITLE}</title>`), html);
    assert.match(html, /alice/);
    assert.match(html, /id="ws-echo"/);
    assert.match(html, /var root = "\/rs";/);
    assert.match(html, /root \+ '\/p\/' \+ "[0-9a-f]+" \+ '\/terminal\/1\/'/);
    assert.equal(page.headers['x-frame-options'], 'SAMEORIGIN');

    // A forged signature is not a sign-in.
    jar.set('user-id', (jar.get('user-id') ?? '').replace(/\|[^|]*$/, '|AAAA'));
    assert.equal((await get('/', { Cookie: cookieHeader(jar) })).status, 302);
  });

  test('cookies are Secure when the proxied scheme is https', async () => {
    const answer = await get('/auth-sign-in?appUri=%2F', { 'X-Forwarded-Proto': 'https' });
    assert.equal(answer.headers.location, 'https://example.org:8888/rs/');
    const setCookies = answer.headers['set-cookie'] ?? [];
    assert.equal(setCookies.length, 5);
    for (const line of setCookies) assert.match(line, /; secure/);
  });

  test('redirect Locations use the proxied base, then the root path', async () => {
    const cases: [Record<string, string>, string][] = [
      [{}, 'http://example.org:8888/rs'],
      [
        { 'X-RStudio-Request': 'https://pub.example:8443/deep/page?q=1' },
        'https://pub.example:8443/rs',
      ],
      [
        { Forwarded: 'for=10.0.0.1;host=fwd.example:9000;proto=https' },
        'https://fwd.example:9000/rs',
      ],
      [{ Forwarded: 'for=10.0.0.1;host=fwd.example' }, 'http://fwd.example/rs'],
      [{ 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'a.org' }, 'https://a.org/rs'],
      [{ 'X-Forwarded-Host': 'a.org', 'X-Forwarded-Port': '8443' }, 'http://a.org:8443/rs'],
      [{ 'X-Forwarded-Host': 'a.org:80', 'X-Forwarded-Port': '8443' }, 'http://a.org:8443/rs'],
      [
        { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'a.org, a.org' },
        'https://a.org, a.org/rs',
      ],
      [{ 'X-Forwarded-Proto': 'https' }, 'https://example.org:8888/rs'],
      [{ 'X-RStudio-Root-Path': '/user/bob/rstudio/' }, 'http://example.org:8888/user/bob/rstudio'],
      [{ 'X-RStudio-Root-Path': 'user/bob' }, 'http://example.org:8888/user/bob'],
      [{ 'X-RStudio-Root-Path': '/' }, 'http://example.org:8888'],
      [
        {
          'X-RStudio-Request': 'https://first.example/x',
          Forwarded: 'host=second.example;proto=https',
          'X-Forwarded-Host': 'third.example',
        },
        'https://first.example/rs',
      ],
      [
        { Forwarded: 'host=second.example', 'X-Forwarded-Host': 'third.example' },
        'http://second.example/rs',
      ],
    ];
    for (const [headers, base] of cases) {
      const answer = await get('/some/page?x=1', headers);
      assert.equal(answer.status, 302, JSON.stringify(headers));
      assert.equal(
        answer.headers.location,
        `${base}/auth-sign-in?appUri=%2Fsome%2Fpage%3Fx%3D1`,
        JSON.stringify(headers),
      );
    }
  });

  test('X-RStudio-Root-Path becomes the cookie path', async () => {
    const nested = await get('/auth-sign-in?appUri=%2F', {
      'X-RStudio-Root-Path': '/user/bob/rstudio/',
    });
    assert.equal(nested.headers.location, 'http://example.org:8888/user/bob/rstudio/');
    for (const line of nested.headers['set-cookie'] ?? [])
      assert.match(line, /; path=\/user\/bob\/rstudio(;|$)/);
    const top = await get('/auth-sign-in?appUri=%2F', { 'X-RStudio-Root-Path': '/' });
    assert.equal(top.headers.location, 'http://example.org:8888/');
    for (const line of top.headers['set-cookie'] ?? []) assert.match(line, /; path=\/(;|$)/);
  });

  test('RPC needs the sign-in cookie and a matching X-RS-CSRF-Token', async () => {
    const jar = await signIn();
    const rpc = (headers: Record<string, string>): Promise<HttpReply> =>
      httpRequest(
        { socketPath: layout.socket },
        {
          method: 'POST',
          path: '/rpc/console_input',
          headers: { Host: 'h', ...headers },
          body: '{"params":[]}',
        },
      );
    const unauthorized = { error: { code: 3, message: 'Unauthorized' } };
    const anonymous = await rpc({});
    assert.equal(anonymous.status, 200);
    assert.deepEqual(JSON.parse(anonymous.body.toString()), unauthorized);
    const noToken = await rpc({ Cookie: cookieHeader(jar) });
    assert.deepEqual(JSON.parse(noToken.body.toString()), unauthorized);
    const wrongToken = await rpc({ Cookie: cookieHeader(jar), 'X-RS-CSRF-Token': 'wrong' });
    assert.deepEqual(JSON.parse(wrongToken.body.toString()), unauthorized);
    const good = await rpc({
      Cookie: cookieHeader(jar),
      'X-RS-CSRF-Token': jar.get('rs-csrf-token') ?? '',
    });
    assert.equal(good.status, 200);
    assert.deepEqual(JSON.parse(good.body.toString()), {
      result: { method: 'console_input', bytes: 13 },
    });
  });

  test('a sign-in form without its token is sent back to the sign-in page', async () => {
    const answer = await httpRequest(
      { socketPath: layout.socket },
      {
        method: 'POST',
        path: '/auth-do-sign-in',
        headers: { Host: 'h', 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'username=alice&password=secret',
      },
    );
    // validateCSRFForm's 400 is overwritten by the redirect (ServerPAMAuth.cpp doSignIn), which
    // passes the constant "appUri" as the app's URI.
    assert.equal(answer.status, 302);
    assert.equal(answer.headers.location, 'http://h/rs/auth-sign-in?appUri=appUri&error=2');
  });

  test('without auth-none, the form is checked by the PAM helper', async () => {
    const other = await makeLayout();
    const helper = join(other.dir, 'pam-helper');
    await writeFile(
      helper,
      '#!/bin/sh\nread -r password\n[ "$1" = bob ] && [ "$password" = pw ]\n',
      {
        mode: 0o755,
      },
    );
    const pam = await startDouble(other, [
      '--auth-none=0',
      `--auth-pam-helper-path=${helper}`,
      '--auth-encrypt-password=0',
    ]);
    const form = await httpRequest(
      { socketPath: other.socket },
      { path: '/auth-sign-in?appUri=%2F', headers: { Host: 'h' } },
    );
    assert.equal(form.status, 200);
    const token = cookieJar(form.headers).get('rs-csrf-token') ?? '';
    assert.ok(form.body.toString().includes(`value="${token}"`), 'the form carries the token');
    const post = (password: string): Promise<HttpReply> =>
      httpRequest(
        { socketPath: other.socket },
        {
          method: 'POST',
          path: '/auth-do-sign-in',
          headers: {
            Host: 'h',
            Cookie: `rs-csrf-token=${token}`,
            'Content-Type': 'application/x-www-form-urlencoded',
          },
          body: `rs-csrf-token=${token}&appUri=%2F&username=bob&password=${password}`,
        },
      );
    const wrong = await post('nope');
    assert.equal(wrong.headers.location, 'http://h/auth-sign-in?appUri=%2F&error=1');
    assert.equal(wrong.headers['set-cookie'], undefined);
    const right = await post('pw');
    assert.equal(right.headers.location, 'http://h/');
    assert.match(cookieJar(right.headers).get('user-id') ?? '', /^bob\|/);
    await stopDouble(pam);
  });

  test('/events/get_events is held open, then answered; a client may leave', async () => {
    const jar = await signIn();
    const started = Date.now();
    const answer = await httpRequest(
      { socketPath: layout.socket },
      {
        method: 'POST',
        path: '/events/get_events',
        headers: { Host: 'h', Cookie: cookieHeader(jar) },
        body: '{}',
      },
    );
    const held = Date.now() - started;
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body.toString()), { result: [] });
    assert.ok(held >= 280, `held for ${held} ms`);

    await assert.rejects(
      httpRequest(
        { socketPath: layout.socket },
        {
          path: '/events/get_events',
          headers: { Host: 'h', Cookie: cookieHeader(jar) },
          timeoutMs: 50,
        },
      ),
    );
    await delay(350);
    assert.equal((await get('/')).status, 302, 'still serving after a client left');
  });

  test('downloads are streamed with a Content-Length', async () => {
    const jar = await signIn();
    const size = 64 * 1024 * 1024 + 7;
    const { status, length, bytes, sample } = await new Promise<{
      status: number;
      length: string | undefined;
      bytes: number;
      sample: boolean;
    }>((resolve, reject) => {
      const req = request(
        {
          socketPath: layout.socket,
          path: `/export/big.bin?size=${size}`,
          headers: { Host: 'h', Cookie: cookieHeader(jar) },
          agent: false,
          signal: AbortSignal.timeout(20_000),
        },
        (res) => {
          let count = 0;
          let ok = true;
          res.on('data', (chunk: Buffer) => {
            // Byte n of the stream is n % 251: check the first byte of every chunk.
            if (chunk[0] !== count % 251) ok = false;
            count += chunk.length;
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              length: res.headers['content-length'],
              bytes: count,
              sample: ok,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 200);
    assert.equal(length, String(size));
    assert.equal(bytes, size);
    assert.ok(sample, 'content is the deterministic pattern');

    assert.equal((await get('/export/big.bin?size=10')).status, 401, '/export needs a sign-in');
    const open = await get('/files/small.bin?size=1000');
    assert.equal(open.status, 200, '/files is open');
    assert.equal(open.body.length, 1000);
    assert.equal(open.body[999], 999 % 251);
  });

  test('uploads are read as they arrive and hashed', async () => {
    const jar = await signIn();
    const body = randomBytes(5 * 1024 * 1024 + 3);
    const answer = await httpRequest(
      { socketPath: layout.socket },
      { method: 'POST', path: '/upload', headers: { Host: 'h', Cookie: cookieHeader(jar) }, body },
    );
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body.toString()), {
      bytes: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
    });
  });

  test('WebSockets under /p/<token>/ echo text and binary frames, with the subprotocol', async () => {
    const jar = await signIn();
    const ws = new WebSocket(
      `ws+unix://${layout.socket}:/p/0a1b2c3d/terminal/1/`,
      ['rstudio-term', 'other'],
      {
        headers: { Cookie: cookieHeader(jar) },
      },
    );
    const messages: { data: Buffer; isBinary: boolean }[] = [];
    ws.on('message', (data: Buffer, isBinary) => messages.push({ data, isBinary }));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    assert.equal(ws.protocol, 'rstudio-term');
    ws.send('hello');
    ws.send(Buffer.from([0, 1, 2, 255]));
    await waitUntil(() => messages.length === 2, 5000, 'two echoes');
    assert.deepEqual(messages[0], { data: Buffer.from('hello'), isBinary: false });
    assert.deepEqual(messages[1], { data: Buffer.from([0, 1, 2, 255]), isBinary: true });
    ws.close();

    const plain = await get('/p/0a1b2c3d/', { Cookie: cookieHeader(jar) });
    assert.equal(plain.status, 200);
  });

  test('an upgrade without the sign-in cookie is refused and closed', async () => {
    const refused = async (path: string): Promise<number> => {
      const ws = new WebSocket(`ws+unix://${layout.socket}:${path}`);
      return new Promise((resolve, reject) => {
        ws.once('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.once('open', () => reject(new Error(`${path} was upgraded`)));
        ws.once('error', () => undefined);
      });
    };
    assert.equal(await refused('/p/0a1b2c3d/terminal/1/'), 401);
    assert.equal(await refused('/not-a-websocket/'), 404);
  });

  test('browsers are checked by user agent unless --www-verify-user-agent=0', async () => {
    const other = await makeLayout();
    const checking = await startDouble(other, [
      '--www-verify-user-agent=1',
      '--www-frame-origin=https://portal.example',
    ]);
    const ask = (userAgent: string): Promise<HttpReply> =>
      httpRequest(
        { socketPath: other.socket },
        { headers: { Host: 'h', 'User-Agent': userAgent } },
      );
    assert.equal((await ask('curl/8.5.0')).headers.location, 'http://h/unsupported_browser.htm');
    const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
    assert.equal((await ask(firefox)).headers.location, 'http://h/auth-sign-in?appUri=%2F');
    const page = await httpRequest(
      { socketPath: other.socket },
      { path: '/unsupported_browser.htm', headers: { Host: 'h' } },
    );
    assert.equal(page.status, 200);
    const jar = cookieJar(
      (
        await httpRequest(
          { socketPath: other.socket },
          { path: '/auth-sign-in', headers: { Host: 'h' } },
        )
      ).headers,
    );
    const ide = await httpRequest(
      { socketPath: other.socket },
      { headers: { Host: 'h', 'User-Agent': firefox, Cookie: cookieHeader(jar) } },
    );
    assert.equal(ide.status, 200);
    assert.equal(ide.headers['x-frame-options'], 'ALLOW-FROM https://portal.example');
    await stopDouble(checking);
    // In the main double (verification off) curl gets the sign-in redirect.
    assert.equal(
      (await get('/', { 'User-Agent': 'curl/8.5.0' })).headers.location,
      'http://example.org:8888/rs/auth-sign-in?appUri=%2F',
    );
  });

  test('without USER, sign-in sets no cookie and the browser loops', async () => {
    const other = await makeLayout();
    const noUser = await startDouble(other, [], { USER: undefined });
    const signInAnswer = await httpRequest(
      { socketPath: other.socket },
      { path: '/auth-sign-in?appUri=%2F', headers: { Host: 'h' } },
    );
    assert.equal(signInAnswer.status, 302);
    assert.equal(signInAnswer.headers.location, 'http://h/');
    assert.equal(signInAnswer.headers['set-cookie'], undefined);
    const again = await httpRequest({ socketPath: other.socket }, { headers: { Host: 'h' } });
    assert.equal(again.headers.location, 'http://h/auth-sign-in?appUri=%2F');
    await stopDouble(noUser);
  });
});

describe('processes and signals', () => {
  // Signs in so that the double starts its rsession; returns the rsession's pid.
  async function startSession(layout: Layout, double: Started): Promise<number> {
    const answer = await httpRequest(
      { socketPath: layout.socket },
      { path: '/auth-sign-in', headers: { Host: 'h' } },
    );
    assert.equal(answer.status, 302);
    let pid = -1;
    await waitUntil(
      () => {
        pid =
          findSessionPids(layout.dir).find(
            (candidate) => processStat(candidate)?.ppid === double.pid,
          ) ?? -1;
        return pid > 0;
      },
      5000,
      'rsession to start',
    );
    return pid;
  }

  async function stopSession(pid: number): Promise<void> {
    process.kill(pid, 'SIGTERM');
    await waitUntil(() => !isAlive(pid), 5000, 'rsession to exit on SIGTERM');
  }

  test('SIGTERM kills the double by the signal; its rsession, in its group, lives on', async () => {
    const layout = await makeLayout();
    const double = await startDouble(layout, [], {}, { detached: true });
    const session = await startSession(layout, double);
    const doubleStat = processStat(double.pid);
    assert.equal(doubleStat?.pgrp, double.pid, 'the double leads its own group in this test');
    assert.equal(processStat(session)?.pgrp, doubleStat.pgrp);
    assert.equal(processStat(session)?.session, doubleStat.session);

    process.kill(double.pid, 'SIGTERM');
    const finished = await double.exited;
    assert.equal(finished.code, null);
    assert.equal(finished.signal, 'SIGTERM');
    assert.ok((await lstat(layout.socket)).isSocket(), 'the socket file is left behind');
    await delay(100);
    assert.ok(isAlive(session), 'rsession survives the double');
    assert.notEqual(processStat(session)?.ppid, double.pid);
    await stopSession(session);
  });

  test('with RSERVER_DOUBLE_RSESSION_SETSID=1 rsession is in a session of its own', async () => {
    const layout = await makeLayout();
    const double = await startDouble(layout, [], { RSERVER_DOUBLE_RSESSION_SETSID: '1' });
    const session = await startSession(layout, double);
    assert.equal(processStat(session)?.session, session);
    assert.notEqual(processStat(session)?.session, processStat(double.pid)?.session);
    process.kill(double.pid, 'SIGINT');
    assert.equal((await double.exited).signal, 'SIGINT');
    assert.ok(isAlive(session));
    await stopSession(session);
  });

  test('SIGQUIT kills it by the signal too; SIGHUP does not', async () => {
    const layout = await makeLayout();
    const double = await startDouble(layout);
    process.kill(double.pid, 'SIGHUP');
    await delay(200);
    assert.ok(isAlive(double.pid));
    assert.equal(
      (await httpRequest({ socketPath: layout.socket }, { headers: { Host: 'h' } })).status,
      302,
    );
    process.kill(double.pid, 'SIGQUIT');
    assert.equal((await double.exited).signal, 'SIGQUIT');
  });

  test('RSERVER_DOUBLE_IGNORE_SIGTERM=1 leaves only SIGKILL', async () => {
    const layout = await makeLayout();
    const double = await startDouble(layout, [], { RSERVER_DOUBLE_IGNORE_SIGTERM: '1' });
    process.kill(double.pid, 'SIGTERM');
    await delay(300);
    assert.ok(isAlive(double.pid));
    assert.equal(
      (await httpRequest({ socketPath: layout.socket }, { headers: { Host: 'h' } })).status,
      302,
    );
    process.kill(double.pid, 'SIGKILL');
    assert.equal((await double.exited).signal, 'SIGKILL');
  });

  test('RSERVER_DOUBLE_EXIT_AFTER_MS makes a ready double exit by itself', async () => {
    const layout = await makeLayout();
    const started = Date.now();
    const double = await startDouble(layout, [], {
      RSERVER_DOUBLE_EXIT_AFTER_MS: '300',
      RSERVER_DOUBLE_EXIT_CODE: '3',
    });
    const finished = await double.exited;
    assert.equal(finished.code, 3);
    assert.ok(Date.now() - started >= 300);
  });

  test('RSERVER_DOUBLE_START_DELAY_MS delays the bind; RSERVER_DOUBLE_HANG=1 never binds', async () => {
    const layout = await makeLayout();
    const started = Date.now();
    const slow = await startDouble(layout, [], { RSERVER_DOUBLE_START_DELAY_MS: '600' });
    assert.ok(Date.now() - started >= 600, 'not listening before the delay');
    await stopDouble(slow);

    const other = await makeLayout();
    const hung = launch(
      RSERVER_DOUBLE,
      launchArgs(other),
      childEnv({ RSERVER_DOUBLE_HANG: '1', RS_LOGGER_TYPE: 'stderr', RS_LOG_LEVEL: 'INFO' }),
    );
    // It says so where it would have bound; from there on it cannot bind.
    await waitUntil(() => hung.stderr().includes('not binding'), 10_000, 'the double to hang');
    assert.ok(isAlive(hung.pid));
    assert.ok(!existsSync(other.socket));
    assert.ok(existsSync(join(other.dbDir, 'rstudio-os.sqlite')), 'the start-up checks ran');
    await stopDouble(hung);
  });

  test('--server-daemonize=1 leaves a detached copy serving and exits 0', async () => {
    const layout = await makeLayout();
    const args = launchArgs(layout, '--server-daemonize=1');
    const marker = randomUUID();
    const result = await runToExit(args, childEnv({ USER: 'alice', DAEMON_MARK: marker }));
    assert.equal(result.code, 0);
    await waitUntil(() => canConnect(layout.socket), 10_000, 'the daemon to listen');
    const [daemon] = pidsWithEnv(`DAEMON_MARK=${marker}`);
    assert.ok(daemon !== undefined);
    assert.equal(processStat(daemon)?.session, daemon, 'the daemon has its own session');
    process.kill(daemon, 'SIGTERM');
    await waitUntil(() => !isAlive(daemon), 5000, 'the daemon to exit');
  });
});
