import type { Stats } from 'node:fs';
import { lstat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { RSessionProxyError } from '../errors.js';
import { isErrnoException } from '../errno.js';
import { describeUid } from '../users.js';

/** sun_path holds 108 bytes including the terminating NUL. */
export const SOCKET_PATH_MAX_BYTES = 107;

/**
 * The longest socket rserver creates under --server-data-dir (RSERVER.md §2-3). Releases have
 * used `rstudio-server/` and `rstudio-rserver/`; the longer one is checked.
 */
export const DATA_DIR_SOCKET = join('rstudio-rserver', 'session-server-rpc.socket');

export function getDataDirSocketPath(dataDir: string): string {
  return join(dataDir, DATA_DIR_SOCKET);
}

// Each rsession's stream socket: rserver sets RS_SESSION_TMP_DIR=<data dir>/rstudio-rsession
// (RSERVER.md §7), so the user name counts against the 107 bytes too.
export function getSessionSocketPath(dataDir: string, user: string): string {
  return join(dataDir, 'rstudio-rsession', `${user}-d`);
}

export function fitsSocketPath(path: string): boolean {
  return Buffer.byteLength(path) <= SOCKET_PATH_MAX_BYTES;
}

// Node 20 silently truncates a longer path and rserver fails late with "File name too long",
// so this check is the only guard: it names the path, its length, the limit and the way out.
export function assertSocketPathLength(path: string, what = 'socket'): void {
  const bytes = Buffer.byteLength(path);
  if (bytes <= SOCKET_PATH_MAX_BYTES) return;
  throw new RSessionProxyError(
    'EPATHTOOLONG',
    `The ${what} path ${path} is ${bytes} bytes long; Unix socket paths are limited to ${SOCKET_PATH_MAX_BYTES} bytes.`,
    {
      path,
      hint: 'Choose a shorter runtime directory (--runtime-dir or RSESSION_PROXY_RUNTIME_DIR, e.g. /tmp/rsp-$USER) or a shorter instance name.',
    },
  );
}

// rserver's own sockets sit under its data dir, which must therefore be short as well.
export function assertDataDirSocketLength(dataDir: string): void {
  assertSocketPathLength(getDataDirSocketPath(dataDir), 'rserver data-dir socket');
}

// Removes a socket left behind by a crashed holder. Call it only while holding the lock, so
// that it can never remove a live instance's socket; anything that is not a socket of ours is
// refused rather than deleted.
export async function removeStaleSocket(path: string): Promise<boolean> {
  let stats: Stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if (isErrnoException(error, 'ENOENT')) return false;
    throw error;
  }
  const uid = process.getuid?.() ?? -1;
  if (!stats.isSocket() || stats.uid !== uid) {
    const what = stats.isSocket() ? `a socket owned by ${describeUid(stats.uid)}` : 'not a socket';
    throw new RSessionProxyError('ENOTPRIVATE', `Refusing to replace ${path}: it is ${what}.`, {
      path,
      hint: 'Remove it yourself if it is yours, or choose another socket path.',
    });
  }
  await unlink(path);
  return true;
}
