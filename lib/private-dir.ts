import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  realpathSync,
  type Stats,
} from 'node:fs';
import { lstat, mkdir, open } from 'node:fs/promises';
import { dirname, join, parse, sep } from 'node:path';
import { RSessionProxyError } from './errors.js';
import { isErrnoException } from './errno.js';
import { describeUid } from './users.js';

// "0755" for a mode's permission bits, sticky and setuid bits included.
export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

export function getUid(): number {
  return process.getuid?.() ?? -1;
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

// Says why a directory on the way to a private one would let another user swap what lies below
// it, or undefined when it cannot: whoever may rename its entries (its owner, and anyone with
// write permission unless the sticky bit limits that to each entry's owner) can replace our
// directory with theirs. So: owned by root or by uid, and writable by nobody else unless it is
// root's and sticky, as /tmp is.
export function getAncestorProblem(stats: Stats, uid: number): string | undefined {
  if (!stats.isDirectory()) return 'it is not a directory';
  if (stats.uid !== 0 && stats.uid !== uid) {
    return `it is owned by ${describeUid(stats.uid)}, who can replace what is in it`;
  }
  const sharedWrite = (stats.mode & 0o022) !== 0;
  const stickyRoot = (stats.mode & 0o1000) !== 0 && stats.uid === 0;
  if (sharedWrite && !stickyRoot) {
    return `its mode is ${formatMode(stats.mode)} (owned by ${describeUid(stats.uid)}): other users can write to it and replace what is in it`;
  }
  return undefined;
}

export interface UnsafeAncestor {
  /** The directory that lets others in, as the kernel sees it (symlinks resolved). */
  path: string;
  problem: string;
}

// Walks every existing directory above `path`, symlinks resolved as the kernel would follow
// them, and returns the first one another user could use to swap `path`; undefined when each is
// safe. A symlink on the way is judged by the directory it sits in and by where it leads.
export function findUnsafeAncestor(path: string, uid = getUid()): UnsafeAncestor | undefined {
  const check = (dir: string): UnsafeAncestor | undefined => {
    let current = parse(dir).root;
    for (const part of dir.slice(current.length).split(sep).filter(Boolean)) {
      const problem = checkOne(current, uid);
      if (problem) return problem;
      const next = join(current, part);
      let stats: Stats;
      try {
        stats = lstatSync(next);
      } catch {
        return undefined; // the rest does not exist yet: it is created private, below `current`
      }
      if (stats.isSymbolicLink()) {
        let target: string;
        try {
          target = realpathSync.native(next);
        } catch (error) {
          return {
            path: next,
            problem: `it is a symbolic link that cannot be followed (${(error as Error).message})`,
          };
        }
        const below = check(target);
        if (below) return below;
        current = target;
      } else {
        current = next;
      }
    }
    return checkOne(current, uid);
  };
  return check(dirname(path));
}

function checkOne(dir: string, uid: number): UnsafeAncestor | undefined {
  let stats: Stats;
  try {
    stats = lstatSync(dir);
  } catch {
    return undefined;
  }
  const problem = getAncestorProblem(stats, uid);
  return problem === undefined ? undefined : { path: dir, problem };
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

// The refusal for a directory below one that other users can write to.
export function unsafeAncestorError(path: string, ancestor: UnsafeAncestor): RSessionProxyError {
  return new RSessionProxyError(
    'ENOTPRIVATE',
    `Refusing to use ${path}: ${ancestor.path} above it is not safe (${ancestor.problem}), so another user could replace it after it was checked.`,
    {
      path,
      hint: 'Choose a directory whose parents only you and root can write to (--runtime-dir or RSESSION_PROXY_RUNTIME_DIR), e.g. under $XDG_RUNTIME_DIR or /tmp.',
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
// directory it did not just create, and never follows a symlink. Resolves true when it created
// `path` itself (so that a caller who fails later can remove what it made).
export async function ensurePrivateDir(path: string): Promise<boolean> {
  try {
    await mkdir(path, { mode: 0o700 });
  } catch (error) {
    if (isErrnoException(error, 'EEXIST')) {
      await assertPrivateDir(path);
      return false;
    }
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
  return true;
}

/** A private directory held open, so that a later check can tell it is still the same one. */
export interface HeldDir {
  readonly path: string;
  /** Throws ENOTPRIVATE when the path no longer names the directory held, or it is not private. */
  verify(): void;
  close(): void;
}

// Opens a private directory without following links and keeps the descriptor: the directory
// checked is then provably the one used later (same device and inode), whatever happens to the
// path meanwhile. The descriptor also marks the holder: `stopInstance` finds a supervisor by it.
export function holdPrivateDir(path: string): HeldDir {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  const held = fstatSync(fd);
  const problem = getPrivacyProblem(held, getUid());
  if (problem) {
    closeSync(fd);
    throw notPrivate(path, problem);
  }
  let open = true;
  return {
    path,
    verify() {
      let stats: Stats;
      try {
        stats = lstatSync(path);
      } catch (error) {
        throw notPrivate(path, `it is gone (${(error as Error).message})`);
      }
      if (stats.dev !== held.dev || stats.ino !== held.ino) {
        throw notPrivate(path, 'it was replaced by another directory after it was checked');
      }
      const now = getPrivacyProblem(stats, getUid());
      if (now) throw notPrivate(path, now);
    },
    close() {
      if (!open) return;
      open = false;
      closeSync(fd);
    },
  };
}
