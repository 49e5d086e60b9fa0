import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { acquireLock, type InstanceLock } from '../lock.js';
import type { RSessionProxyError } from '../errors.js';
import { ensurePrivateDir } from '../private-dir.js';
import { resolveRuntimeBase, validateInstanceName, type RuntimeBase } from '../runtime-dir.js';
import {
  assertDataDirSocketLength,
  assertSocketPathLength,
  removeStaleSocket,
} from '../socket-path.js';
import { ensureInstanceStateDir, getInstanceStateDir } from '../state-dir.js';
import { isErrnoException } from '../errno.js';
import { stopLeftovers } from './leftovers.js';
import type { NormalizedLaunchOptions } from './options.js';

/** Where one instance keeps what rserver needs; every directory in it is private. */
export interface InstanceLayout {
  /** The instance name: as given, or `sock-<hash>` for an instance bound to a given socket. */
  name: string;
  base: RuntimeBase;
  /** `<base>/<name>`: the private directory of run-time state. */
  dir: string;
  socketPath: string;
  /** What the lock is taken on: the instance directory, or the given socket path. */
  lockTarget: string;
  /** `--server-data-dir`: rserver chmods it 1777, so it must sit inside `dir`. */
  dataDir: string;
  databaseDir: string;
  databaseConfigFile: string;
  /**
   * Kept across restarts so that browser sessions survive them: in the persistent per-user
   * state directory for a named instance, in `dir` for one bound to a given socket.
   */
  cookieKeyFile: string;
}

// A socket chosen by someone else gets its state under the runtime base, named by a short hash
// of the socket's real path, so that rserver's own sockets stay short whatever the given path.
function getSocketInstanceName(socketPath: string): string {
  let real = socketPath;
  try {
    real = join(realpathSync(dirname(socketPath)), basename(socketPath));
  } catch {
    // the directory does not exist yet: it is created private, and the path is already real
  }
  return `sock-${createHash('sha256').update(real).digest('hex').slice(0, 12)}`;
}

// Computes every path of an instance without touching the disk (but one realpath).
export function resolveInstanceLayout(options: NormalizedLaunchOptions): InstanceLayout {
  const base = resolveRuntimeBase({ runtimeDir: options.runtimeDir, env: options.env });
  const name =
    options.socketPath === undefined
      ? validateInstanceName(options.instance)
      : getSocketInstanceName(options.socketPath);
  const dir = join(base.path, name);
  const socketPath = options.socketPath ?? join(dir, 'rserver.sock');
  return {
    name,
    base,
    dir,
    socketPath,
    lockTarget: options.socketPath ?? dir,
    dataDir: join(dir, 'data'),
    databaseDir: join(dir, 'db'),
    databaseConfigFile: join(dir, 'database.conf'),
    cookieKeyFile:
      options.socketPath === undefined
        ? join(getInstanceStateDir(name), 'secure-cookie-key')
        : join(dir, 'secure-cookie-key'),
  };
}

export interface OpenInstance {
  layout: InstanceLayout;
  lock: InstanceLock;
  /** Removes the instance's sockets and releases the lock. */
  close(): Promise<void>;
}

// Makes an instance ready for rserver: checks socket path lengths, creates the private
// directories, takes the lock, and only then stops the processes and removes the socket a
// killed holder left behind.
export async function openInstance(
  options: NormalizedLaunchOptions,
  onCompromised?: (error: RSessionProxyError) => void,
): Promise<OpenInstance> {
  const layout = resolveInstanceLayout(options);
  assertSocketPathLength(layout.socketPath, 'rserver socket');
  assertDataDirSocketLength(layout.dataDir);
  await ensurePrivateDir(layout.base.path);
  await ensurePrivateDir(layout.dir);
  if (options.socketPath !== undefined) await ensurePrivateDir(dirname(layout.socketPath));
  if (options.socketPath === undefined) await ensureInstanceStateDir(layout.name);
  const log = (message: string) =>
    options.logger?.({ level: 'info', source: 'rsession-proxy', message });
  if (layout.base.warning) {
    options.logger?.({ level: 'warn', source: 'rsession-proxy', message: layout.base.warning });
  }
  log(`private directory ${layout.dir}`);
  const lock = await acquireLock(layout.lockTarget, { socket: layout.socketPath, onCompromised });
  log(`lock held on ${layout.lockTarget}`);
  try {
    await stopLeftovers(layout.lockTarget, options);
    await removeStaleSocket(layout.socketPath);
    await ensurePrivateDir(layout.databaseDir);
    await writeFile(
      layout.databaseConfigFile,
      `provider=sqlite\ndirectory=${layout.databaseDir}\n`,
      { mode: 0o600 },
    );
    await removeEmptyFile(layout.cookieKeyFile);
  } catch (error) {
    await lock.release();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    layout,
    lock,
    close: () =>
      (closing ??= (async () => {
        await cleanSockets(layout);
        await lock.release();
      })()),
  };
}

// rserver refuses an empty cookie-key file (it writes a fresh key when the file is missing).
async function removeEmptyFile(path: string): Promise<void> {
  try {
    if ((await stat(path)).size === 0) await rm(path);
  } catch (error) {
    if (!isErrnoException(error, 'ENOENT')) throw error;
  }
}

// rserver leaves its socket behind when it dies by a signal, and its own sockets in the data
// directory; none may outlive the instance.
export async function cleanSockets(layout: InstanceLayout): Promise<void> {
  await removeStaleSocket(layout.socketPath).catch(() => false);
  await rm(layout.dataDir, { recursive: true, force: true });
}
