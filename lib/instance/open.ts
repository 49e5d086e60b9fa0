import { rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RSessionProxyError, isRSessionProxyError } from '../errors.js';
import { isErrnoException } from '../errno.js';
import type { Logger } from '../logger.js';
import { ensurePrivateDir, holdPrivateDir, type HeldDir } from '../private-dir.js';
import { assertLayoutFits, resolveInstanceLayout, type InstanceLayout } from './layout.js';
import { normalizeInstanceOptions, type InstanceOptions } from './options.js';
import { stopLeftovers } from './leftovers.js';
import { acquireLock, type InstanceLock } from './lock.js';
import { removeStaleSocket } from './socket-path.js';
import { ensureInstanceStateDir } from './state-dir.js';
import { removeStatusRecord } from './status.js';

export interface OpenInstanceOptions {
  logger?: Logger | undefined;
  /** How long leftover processes get after SIGTERM before SIGKILL, in ms. */
  stopTimeout: number;
  /** Called if another process took the lock away; the holder should stop serving. */
  onCompromised?: ((error: RSessionProxyError) => void) | undefined;
}

export interface OpenInstance {
  layout: InstanceLayout;
  lock: InstanceLock;
  /**
   * Throws ENOTPRIVATE unless the instance directory is still the one checked when it was
   * opened (same inode, still private): called right before every start of rserver.
   */
  verify(): void;
  /** Removes the instance's sockets (and, when ephemeral, its directory) and releases the lock. */
  close(): Promise<void>;
}

// Makes an instance ready for rserver: checks socket path lengths, creates the private
// directories and holds the instance directory open, takes the lock, and only then stops the
// processes and removes the socket a killed holder left behind. A refused open leaves nothing it
// created behind.
export async function openLayout(
  layout: InstanceLayout,
  options: OpenInstanceOptions,
): Promise<OpenInstance> {
  assertLayoutFits(layout);
  const created: string[] = [];
  const ensure = async (path: string) => {
    if (await ensurePrivateDir(path)) created.push(path);
  };
  let held: HeldDir | undefined;
  let lock: InstanceLock | undefined;
  try {
    // A socket someone else chose is checked first: refusing it must not leave a directory.
    if (layout.socketGiven) await ensure(dirname(layout.socketPath)).catch(explainSocketDir);
    await ensure(layout.base.path);
    await ensure(layout.dir);
    held = holdPrivateDir(layout.dir);
    if (!layout.ephemeral) await ensureInstanceStateDir(layout.name);
    for (const warning of layout.base.warnings) {
      options.logger?.({ level: 'warn', source: 'rsession-proxy', message: warning });
    }
    options.logger?.({
      level: 'info',
      source: 'rsession-proxy',
      message: `private directory ${layout.dir}`,
    });
    lock = await acquireLock(layout.dir, {
      socket: layout.socketPath,
      onCompromised: options.onCompromised,
    });
    options.logger?.({ level: 'info', source: 'rsession-proxy', message: 'lock held' });
    await stopLeftovers(layout, options);
    // What a killed holder left: rserver's socket, and serve's listener (its new owner binds it
    // again; `stop` only cleans up).
    await removeStaleSocket(layout.socketPath);
    await removeStaleSocket(layout.listenerSocketPath);
    await ensurePrivateDir(layout.databaseDir);
    await writeFile(
      layout.databaseConfigFile,
      `provider=sqlite\ndirectory=${layout.databaseDir}\n`,
      { mode: 0o600 },
    );
    await removeEmptyFile(layout.cookieKeyFile);
  } catch (error) {
    await lock?.release().catch(() => undefined);
    held?.close();
    for (const path of created.reverse()) await rmdir(path).catch(() => undefined);
    throw error;
  }
  const openLock = lock;
  const openHeld = held;
  let closing: Promise<void> | undefined;
  return {
    layout,
    lock: openLock,
    verify: () => openHeld.verify(),
    close: () =>
      (closing ??= (async () => {
        await cleanSockets(layout);
        await removeStatusRecord(layout.statusFile);
        if (layout.ephemeral) await removeEphemeralDir(layout, openHeld);
        openHeld.close();
        await openLock.release();
      })()),
  };
}

// Opens an instance by its options, for a program that manages rserver itself or just wants the
// instance's private directory and lock (the supervisor and launchRServer do this for you).
export function openInstance(
  options: InstanceOptions & Partial<OpenInstanceOptions> = {},
): Promise<OpenInstance> {
  const layout = resolveInstanceLayout(normalizeInstanceOptions(options));
  return openLayout(layout, { ...options, stopTimeout: options.stopTimeout ?? 5000 });
}

// The socket's directory came with the socket (--socket, `socketPath`), not from the runtime
// directory: the advice is about the socket.
function explainSocketDir(error: unknown): never {
  if (!isRSessionProxyError(error, 'ENOTPRIVATE')) throw error;
  throw new RSessionProxyError('ENOTPRIVATE', error.message.split('\n')[0] ?? error.message, {
    path: error.path,
    cause: error,
    hint: "It is the directory of the socket given (--socket, `socketPath`): if it is yours, `chmod 700` it; otherwise give a socket in a directory only you can enter (jupyter-server-proxy's {unix_socket} is one).",
  });
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

// An instance named after a socket someone else chose gets a new name with every new socket
// (jupyter-server-proxy makes one per start): its directory goes with it, while the lock is
// still held so that no new holder's directory can be removed. Only the directory checked at
// open is removed.
async function removeEphemeralDir(layout: InstanceLayout, held: HeldDir): Promise<void> {
  try {
    held.verify();
  } catch {
    return;
  }
  await rm(layout.dir, { recursive: true, force: true });
}
