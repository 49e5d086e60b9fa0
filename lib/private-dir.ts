import { lstat, mkdir, open } from 'node:fs/promises';
import { constants, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { RSessionProxyError } from './errors.js';
import { isErrnoException } from './errno.js';
import { describeUid } from './users.js';

// "0755" for a mode's permission bits, sticky and setuid bits included.
export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

// Says why a directory is not private to `uid`, or returns undefined when it is. Pure, so the
// rules are table-tested: a real directory (a symlink is never followed), owned by uid, with no
// group or other permission bits.
export function getPrivacyProblem(stats: Stats, uid: number): string | undefined {
  if (stats.isSymbolicLink()) return 'it is a symbolic link';
  if (!stats.isDirectory()) return 'it is not a directory';
  if (stats.uid !== uid) {
    return `it is owned by ${describeUid(stats.uid)}, not by you (${describeUid(uid)})`;
  }
  if ((stats.mode & 0o077) !== 0) {
    return `its mode is ${formatMode(stats.mode)}, which lets other users in (expected 0700)`;
  }
  return undefined;
}

function getUid(): number {
  return process.getuid?.() ?? -1;
}

function notPrivate(path: string, problem: string, hint?: string): RSessionProxyError {
  return new RSessionProxyError(
    'ENOTPRIVATE',
    `Refusing to use ${path}: ${problem}. Only a directory that no other user can enter keeps RStudio private.`,
    {
      path,
      hint:
        hint ??
        'If it is yours, remove it or run `chmod 700` on it; otherwise choose another directory (--runtime-dir or RSESSION_PROXY_RUNTIME_DIR).',
    },
  );
}

// Checks that a directory someone else chose (jupyter-server-proxy's {unix_socket} parent, a
// --runtime-dir) is private to the current user; throws ENOTPRIVATE naming owner and mode.
export async function assertPrivateDir(path: string): Promise<void> {
  let stats: Stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if (isErrnoException(error, 'ENOENT')) {
      throw notPrivate(path, 'it does not exist', 'Create it with `mkdir -m 700` first.');
    }
    throw error;
  }
  const problem = getPrivacyProblem(stats, getUid());
  if (problem) throw notPrivate(path, problem);
}

// Creates a directory with mode 0700 whatever the umask, or verifies the one already there;
// parents that are missing are created private too. It never changes the mode or owner of a
// directory it did not just create, and never follows a symlink.
export async function ensurePrivateDir(path: string): Promise<void> {
  try {
    await mkdir(path, { mode: 0o700 });
  } catch (error) {
    if (isErrnoException(error, 'EEXIST')) return assertPrivateDir(path);
    if (isErrnoException(error, 'ENOENT') && dirname(path) !== path) {
      await ensurePrivateDir(dirname(path));
      return ensurePrivateDir(path);
    }
    throw error;
  }
  // The umask may have removed owner bits (never added others): set 0700 through a descriptor
  // opened without following links, so the chmod can only reach the directory just made.
  const handle = await open(
    path,
    constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW,
  );
  try {
    const stats = await handle.stat();
    const problem = stats.uid === getUid() ? undefined : getPrivacyProblem(stats, getUid());
    if (problem) throw notPrivate(path, problem);
    await handle.chmod(0o700);
  } finally {
    await handle.close();
  }
  await assertPrivateDir(path);
}
