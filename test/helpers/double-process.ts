// Runs the rserver double (test/fixtures/bin/rserver) on a socket in a private directory, with
// the arguments a user-mode launcher passes, and waits until the socket accepts connections.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { waitForExit, waitUntil } from './processes.js';
import { FAKE_R, RSERVER_DOUBLE } from './rserver-double.js';

export interface RunningDouble {
  socketPath: string;
  child: ChildProcess;
  /** Everything the double wrote to stderr so far (its log, with RS_LOGGER_TYPE=stderr). */
  stderr(): string;
  /** SIGKILLs rserver alone, as a crash would (its rsession lives on), and waits for it. */
  kill(): Promise<void>;
  /** SIGKILLs rserver and its rsession (its process group): the test's cleanup. */
  stop(): Promise<void>;
}

// Whether something accepts connections on the socket now.
export function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

// `dir` must be private (makeTempDir); the socket is `<dir>/rserver.sock`, so a second double
// started on the same dir takes over the first one's socket, as rserver does.
export async function startDouble(
  dir: string,
  env: Record<string, string> = {},
): Promise<RunningDouble> {
  const user = userInfo().username;
  const socketPath = join(dir, 'rserver.sock');
  const dbConf = join(dir, 'database.conf');
  writeFileSync(dbConf, `provider=sqlite\ndirectory=${join(dir, 'db')}\n`);
  const child = spawn(
    RSERVER_DOUBLE,
    [
      `--www-socket=${socketPath}`,
      '--auth-none=1',
      `--server-user=${user}`,
      '--server-daemonize=0',
      '--www-verify-user-agent=0',
      `--server-data-dir=${join(dir, 'd')}`,
      `--database-config-file=${dbConf}`,
      `--secure-cookie-key-file=${join(dir, 'key')}`,
      `--rsession-which-r=${FAKE_R}`,
    ],
    {
      env: { PATH: process.env.PATH, USER: user, RS_LOGGER_TYPE: 'stderr', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      // A process group of its own: the rsession it starts stays in it, and stop() ends both.
      detached: true,
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitUntil(
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`the rserver double exited before listening: ${stderr}`);
      }
      return canConnect(socketPath);
    },
    10_000,
    'the rserver double to listen',
  );
  return {
    socketPath,
    child,
    stderr: () => stderr,
    async kill() {
      child.kill('SIGKILL');
      await waitForExit(child);
    },
    async stop() {
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL');
      } catch {
        // the group is already gone
      }
      await waitForExit(child);
    },
  };
}
