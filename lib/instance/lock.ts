import * as fs from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import lockfile from 'proper-lockfile';
import { RSessionProxyError } from '../errors.js';
import { isErrnoException } from '../errno.js';
import { isProcessAlive, readProcStat } from '../proc.js';

/** Who holds a lock: kept in `<target>.lock.json`, beside proper-lockfile's `<target>.lock`. */
export interface LockHolder {
  pid: number;
  /** /proc start time of `pid`, so that a reused pid is not mistaken for the holder. */
  startTime?: number | undefined;
  hostname: string;
  /** The socket the holder serves, for "already running" messages. */
  socket?: string | undefined;
  since: string;
}

export interface LockOptions {
  /** Recorded for other processes that find the lock held. */
  socket?: string | undefined;
  /** A lock not refreshed for this many ms is taken over (proper-lockfile's `stale`). */
  stale?: number | undefined;
  /** Called if another process took the lock away; the holder should stop serving. */
  onCompromised?: ((error: RSessionProxyError) => void) | undefined;
}

export interface InstanceLock {
  readonly target: string;
  readonly holder: LockHolder;
  release(): Promise<void>;
}

const getLockDir = (target: string) => `${target}.lock`;
const getHolderFile = (target: string) => `${target}.lock.json`;
// proper-lockfile keys its locks by file, so the gate needs a file of its own.
const getGateTarget = (target: string) => `${target}.gate`;

// proper-lockfile removes a lock with rmdir, also from its exit and signal handler; this fs
// removes the holder file first, so that no lock metadata outlives its lock.
const lockFs = {
  ...fs,
  rmdir(path: string, callback: (error: NodeJS.ErrnoException | null) => void) {
    fs.rm(path.replace(/\.lock$/, '.lock.json'), { force: true }, () => fs.rmdir(path, callback));
  },
  rmdirSync(path: string) {
    fs.rmSync(path.replace(/\.lock$/, '.lock.json'), { force: true });
    fs.rmdirSync(path);
  },
};

// Reads the holder of a lock that exists; undefined when the lock is free, nobody wrote one, or
// what is there is not a holder record (only an owner's own files are read: see open.ts).
export async function readLockHolder(target: string): Promise<LockHolder | undefined> {
  if (!fs.existsSync(getLockDir(target))) return undefined;
  try {
    return parseLockHolder(JSON.parse(await readFile(getHolderFile(target), 'utf8')));
  } catch {
    return undefined;
  }
}

// A holder record as written by writeHolder: anything else (a pid of -1, 0 or 1, text where a
// number belongs) is not one, and must never be signalled.
export function parseLockHolder(value: unknown): LockHolder | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const { pid, startTime, hostname, socket, since } = record;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 1) return undefined;
  if (
    startTime !== undefined &&
    (typeof startTime !== 'number' || !Number.isSafeInteger(startTime))
  )
    return undefined;
  if (typeof hostname !== 'string' || typeof since !== 'string') return undefined;
  if (socket !== undefined && typeof socket !== 'string') return undefined;
  return { pid, startTime, hostname, socket, since };
}

// A holder is dead when its pid is gone or now names another process; on another host (a
// shared filesystem) nothing can be known, and only the stale period applies.
export function isHolderAlive(holder: LockHolder): boolean {
  if (holder.hostname !== hostname()) return true;
  if (!isProcessAlive(holder.pid)) return false;
  const startTime = readProcStat(holder.pid)?.startTime;
  return (
    holder.startTime === undefined || startTime === undefined || startTime === holder.startTime
  );
}

function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return 'another process (its pid was not recorded yet)';
  const socket = holder.socket ? `, serving ${holder.socket}` : '';
  return `pid ${holder.pid} on ${holder.hostname} since ${holder.since}${socket}`;
}

function lockedError(target: string, holder: LockHolder | undefined): RSessionProxyError {
  return new RSessionProxyError(
    'ELOCKED',
    `${target} is already in use by ${describeHolder(holder)}.`,
    {
      path: target,
      hint: 'Stop that instance first (`rsession-proxy stop`), or choose another instance name or socket.',
      ...(holder && { pid: holder.pid }),
    },
  );
}

async function writeHolder(target: string, holder: LockHolder): Promise<void> {
  const file = getHolderFile(target);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(holder)}\n`, { mode: 0o600 });
  await rename(temporary, file);
}

// Takes the lock on `target` (an instance directory, or a socket path) for this process. All
// acquirers pass through a short-lived gate, so that deciding "the holder is dead" and taking
// its lock over is one step that no other acquirer can interleave with.
export async function acquireLock(
  target: string,
  options: LockOptions = {},
): Promise<InstanceLock> {
  const releaseGate = await lockfile.lock(getGateTarget(target), {
    realpath: false,
    stale: 3000,
    retries: { retries: 80, factor: 1.3, minTimeout: 10, maxTimeout: 150 },
    fs: lockFs,
    onCompromised: () => undefined,
  });
  try {
    return await acquireUnderGate(target, options);
  } finally {
    await releaseGate().catch(() => undefined);
  }
}

async function acquireUnderGate(target: string, options: LockOptions): Promise<InstanceLock> {
  const lockOptions: lockfile.LockOptions = {
    realpath: false,
    stale: options.stale ?? 10_000,
    fs: lockFs,
    onCompromised: (cause) => {
      options.onCompromised?.(
        new RSessionProxyError(
          'ECOMPROMISED',
          isErrnoException(cause, 'ENOENT')
            ? `The lock on ${target} disappeared while it was held (a temporary-file cleaner?): ${cause.message}.`
            : `The lock on ${target} was taken over by another process: ${cause.message}.`,
          { path: target, cause },
        ),
      );
    },
  };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(target, lockOptions);
  } catch (error) {
    if (!isErrnoException(error, 'ELOCKED')) throw error;
    const holder = await readLockHolder(target);
    if (!holder || isHolderAlive(holder)) throw lockedError(target, holder);
    // The recorded holder died without releasing (SIGKILL): its lock is ours to remove.
    await rm(getHolderFile(target), { force: true });
    await rm(getLockDir(target), { recursive: true, force: true });
    release = await lockfile.lock(target, lockOptions);
  }
  const holder: LockHolder = {
    pid: process.pid,
    startTime: readProcStat(process.pid)?.startTime,
    hostname: hostname(),
    socket: options.socket,
    since: new Date().toISOString(),
  };
  await writeHolder(target, holder);
  return {
    target,
    holder,
    release: async () => {
      try {
        await release();
      } catch (error) {
        if (!isErrnoException(error, 'ERELEASED') && !isErrnoException(error, 'ENOTACQUIRED')) {
          throw error;
        }
      }
    },
  };
}
