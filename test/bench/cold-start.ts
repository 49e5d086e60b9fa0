import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { buildRServerArgs, buildRServerEnv, parseHelpOptions } from '../../lib/index.js';
import { FAKE_R, startServe } from './contenders.js';
import { httpGet } from './http-get.js';
import { settledRssKb } from './measure.js';
import { findChildren } from './proc-stats.js';
import { runCommand, spawnProcess } from './processes.js';

export interface ColdStartSample {
  /** rserver started by hand with the launcher's command line: spawn to its first HTTP byte. */
  ownStartMs: number;
  /** serve listening and idle: its first request sent to the first byte of rserver's answer. */
  serveFirstByteMs: number;
  /** serve's RSS once listening, before that first request (nothing started yet). */
  serveFreshRssKb: number;
}

// Whether an HTTP server answers on the socket yet: the launcher's own test (any status line).
function answersHttp(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    const finish = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.once('connect', () => socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    socket.once('data', (chunk: Buffer) => finish(chunk.toString('latin1').startsWith('HTTP/1.')));
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}

// Starts `rserver` the way the launcher does (same arguments, environment and process group),
// without the launcher, and times it from spawn to its first answer (polled every 2 ms).
export async function measureOwnStart(rserver: string, parent: string): Promise<number> {
  const dir = await mkdtemp(join(parent, 'own-'));
  const help = await runCommand(rserver, ['--help']);
  const user = userInfo().username;
  const socketPath = join(dir, 'rserver.sock');
  const databaseConfigFile = join(dir, 'database.conf');
  await mkdir(join(dir, 'db'), { mode: 0o700 });
  await writeFile(databaseConfigFile, `provider=sqlite\ndirectory=${join(dir, 'db')}\n`, {
    mode: 0o600,
  });
  const args = buildRServerArgs(
    {
      listen: { socketPath },
      uid: userInfo().uid,
      rootPath: '/',
      user,
      dataDir: join(dir, 'data'),
      databaseConfigFile,
      cookieKeyFile: join(dir, 'secure-cookie-key'),
      frameOrigin: 'same',
      r: FAKE_R,
    },
    parseHelpOptions(help.stdout),
  );
  const env = buildRServerEnv(process.env, { user, marker: dir });
  const start = process.hrtime.bigint();
  const started = spawnProcess(rserver, args, { env, stdio: 'ignore' });
  try {
    const deadline = Date.now() + 30_000;
    while (!(await answersHttp(socketPath))) {
      const { exitCode } = started.child;
      if (exitCode !== null || Date.now() > deadline) {
        throw new Error(`${rserver} did not answer on ${socketPath} (exit code ${exitCode})`);
      }
      await delay(2);
    }
    return Number(process.hrtime.bigint() - start) / 1e6;
  } finally {
    await started.stop();
  }
}

// serve runs rserver --help and --version once it listens, before any request: a user's first
// request comes seconds later, after the tunnel and the browser. Waits until those have ended
// (no child for 200 ms), at most 10 s.
async function waitForNoChildren(pid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    if (findChildren(pid).length > 0) quietSince = Date.now();
    else if (Date.now() - quietSince >= 200) return;
    await delay(20);
  }
}

// One cold start through serve: the CLI is started and left idle, then its first request (an
// API call, not a page load: it waits for rserver instead of getting the "Starting" page) is
// timed to the first byte of rserver's answer.
export async function measureServeColdStart(
  rserver: string,
  parent: string,
): Promise<Omit<ColdStartSample, 'ownStartMs'>> {
  const dir = await mkdtemp(join(parent, 'cold-'));
  const serve = await startServe(dir, rserver);
  try {
    await waitForNoChildren(serve.proxyPids[0] ?? 0);
    const serveFreshRssKb = await settledRssKb(serve.proxyPids);
    const answer = await httpGet(`${serve.origin}/`, serve.headers, 60_000);
    if (answer.status >= 500) throw new Error(`serve answered ${answer.status}: ${answer.body}`);
    return { serveFirstByteMs: answer.firstByteMs, serveFreshRssKb };
  } finally {
    await serve.stop();
  }
}
