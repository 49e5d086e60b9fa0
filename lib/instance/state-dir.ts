import { join } from 'node:path';
import envPaths from 'env-paths';
import { ensurePrivateDir } from '../private-dir.js';

export interface StateDirs {
  /** Persistent per-user state: cookie keys, token files. */
  data: string;
  /** Logs. */
  log: string;
}

// Per-user directories that outlive a run (XDG data/state, via env-paths).
export function getStateDirs(): StateDirs {
  const paths = envPaths('rsession-proxy', { suffix: '' });
  return { data: paths.data, log: paths.log };
}

// The directory that keeps one instance's persistent state, such as the cookie key that lets
// browser sessions survive a restart of rserver.
export function getInstanceStateDir(instance: string, dirs: StateDirs = getStateDirs()): string {
  return join(dirs.data, 'instances', instance);
}

// Creates (or verifies) that directory and its parents, all private.
export async function ensureInstanceStateDir(
  instance: string,
  dirs: StateDirs = getStateDirs(),
): Promise<string> {
  const path = getInstanceStateDir(instance, dirs);
  await ensurePrivateDir(dirs.data);
  await ensurePrivateDir(join(dirs.data, 'instances'));
  await ensurePrivateDir(path);
  return path;
}
