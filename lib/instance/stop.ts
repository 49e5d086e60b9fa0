import { lstatSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { RSessionProxyError } from '../errors.js';
import { isErrnoException } from '../errno.js';
import type { Logger } from '../logger.js';
import { getPrivacyProblem, getUid } from '../private-dir.js';
import { isInstanceSupervisor } from './holder.js';
import { resolveInstanceLayout } from './layout.js';
import { isHolderAlive, readLockHolder } from './lock.js';
import { openLayout } from './open.js';
import { normalizeInstanceOptions, type InstanceOptions } from './options.js';

export interface StopInstanceOptions extends InstanceOptions {
  /** How long the supervisor may take to stop, in ms; default 30 000. */
  timeout?: number | undefined;
  logger?: Logger | undefined;
}

export interface StopResult {
  /** The instance, as named in messages. */
  name: string;
  dir: string;
  /** The supervisor that was asked to stop; undefined when none was running. */
  pid: number | undefined;
  /** Whether a killed supervisor's lock, sockets or processes were cleaned up. */
  cleaned: boolean;
}

// Stops a running serve or exec through its supervisor: SIGTERM to the lock's holder, which
// stops rserver and everything it started and releases the lock; resolves once the lock is free.
// Nothing is read, and nothing signalled, unless the runtime and instance directories are
// provably this user's (private), and the pid provably this instance's supervisor. When the
// supervisor was killed, what it left (lock, sockets, processes) is cleaned up as the next start
// would.
export async function stopInstance(options: StopInstanceOptions = {}): Promise<StopResult> {
  const spec = normalizeInstanceOptions(options);
  const layout = resolveInstanceLayout(spec);
  const result: StopResult = { name: layout.name, dir: layout.dir, pid: undefined, cleaned: false };
  if (!assertOwnDir(layout.base.path) || !assertOwnDir(layout.dir)) return result;
  const holder = await readLockHolder(layout.dir);
  if (holder === undefined || !isHolderAlive(holder)) {
    // A holder that is gone: reclaim its lock, stop its leftovers and remove its sockets.
    const instance = await openLayout(layout, { stopTimeout: 5000, logger: options.logger });
    await instance.close();
    result.cleaned = holder !== undefined;
    return result;
  }
  if (holder.hostname !== hostname()) {
    throw new RSessionProxyError(
      'ELOCKED',
      `${layout.dir} is held by pid ${holder.pid} on ${holder.hostname}, another host: it cannot be stopped from here.`,
      {
        path: layout.dir,
        pid: holder.pid,
        hint: `Run \`rsession-proxy stop\` on ${holder.hostname}.`,
      },
    );
  }
  if (!isInstanceSupervisor(holder, layout.dir)) {
    throw new RSessionProxyError(
      'ENOTPRIVATE',
      `Refusing to signal pid ${holder.pid}: the lock of ${layout.dir} names it, but it is not this instance's supervisor (its start time or open directory does not match). Nothing was signalled.`,
      {
        path: layout.dir,
        pid: holder.pid,
        hint: 'If no rsession-proxy of yours is running for this instance, remove the lock by hand (`rm -r <dir>.lock <dir>.lock.json`).',
      },
    );
  }
  result.pid = holder.pid;
  try {
    process.kill(holder.pid, 'SIGTERM');
  } catch (error) {
    if (isErrnoException(error, 'ESRCH')) return result;
    throw new RSessionProxyError(
      'EUNAVAILABLE',
      `Cannot signal pid ${holder.pid}, the supervisor of ${layout.dir}: ${isErrnoException(error, 'EPERM') ? 'it belongs to another user' : (error as Error).message}.`,
      { path: layout.dir, pid: holder.pid, cause: error },
    );
  }
  const deadline = Date.now() + (options.timeout ?? 30_000);
  while (Date.now() < deadline) {
    const current = await readLockHolder(layout.dir);
    if (!current || current.pid !== holder.pid || !isHolderAlive(current)) return result;
    await delay(50);
  }
  throw new RSessionProxyError(
    'EUNAVAILABLE',
    `pid ${holder.pid} did not stop within ${Math.round((options.timeout ?? 30_000) / 1000)} s; it still holds ${layout.dir}.`,
    { path: layout.dir, pid: holder.pid },
  );
}

// False when the directory does not exist (nothing to stop); throws ENOTPRIVATE when it exists
// but is not provably this user's, so that nothing in it is believed.
function assertOwnDir(path: string): boolean {
  let problem: string | undefined;
  try {
    problem = getPrivacyProblem(lstatSync(path), getUid());
  } catch (error) {
    if (isErrnoException(error, 'ENOENT')) return false;
    throw error;
  }
  if (problem === undefined) return true;
  throw new RSessionProxyError(
    'ENOTPRIVATE',
    `Refusing to read ${path}: ${problem}. Files there may have been planted by another user; nothing was signalled.`,
    {
      path,
      hint: 'If it is yours, remove it or run `chmod 700` on it; otherwise choose another directory (--runtime-dir or RSESSION_PROXY_RUNTIME_DIR).',
    },
  );
}
