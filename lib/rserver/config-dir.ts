import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrnoException } from '../errno.js';

/** The file rserver 2026.05 to 2026.07 look for first in the configuration directory. */
export const SESSION_RPC_KEY = 'session-rpc-key';

// The directories rserver reads the site's configuration from, in its order (core/system/Xdg):
// $RSTUDIO_CONFIG_DIR alone when set, else each of $XDG_CONFIG_DIRS (default /etc) plus
// `rstudio`, a file found in an earlier one winning.
export function getSiteConfigDirs(env: NodeJS.ProcessEnv): string[] {
  if (env.RSTUDIO_CONFIG_DIR) return [env.RSTUDIO_CONFIG_DIR];
  const dirs = (env.XDG_CONFIG_DIRS ?? '').split(':').filter((dir) => dir.startsWith('/'));
  return [...dirs, '/etc'].map((dir) => join(dir, 'rstudio'));
}

// The names in a directory, or none when it is missing or unreadable (rserver would not see them).
async function listNames(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (isErrnoException(error)) return [];
    throw error;
  }
}

// The way around the 2026.05-2026.07 regression (a root-owned /var/lib/rstudio-server/
// session-rpc-key that rserver run as a user fails on): a private configuration directory that
// rserver is sent to with RSTUDIO_CONFIG_DIR, holding a fresh random key of its own (0600), which
// rserver finds before the system one, and a link to every other file of the site's
// configuration (rserver.conf, rsession.conf, logging.conf…), so that neither rserver nor the
// sessions (which inherit RSTUDIO_CONFIG_DIR) read anything else than before. Made anew at
// every start; returns its path.
export async function preparePrivateConfigDir(
  dir: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { mode: 0o700 });
  const linked = new Set([SESSION_RPC_KEY]);
  for (const source of getSiteConfigDirs(env)) {
    for (const name of await listNames(source)) {
      if (linked.has(name)) continue;
      linked.add(name);
      await symlink(join(source, name), join(dir, name));
    }
  }
  await writeFile(join(dir, SESSION_RPC_KEY), randomBytes(32).toString('hex'), {
    mode: 0o600,
    flag: 'wx',
  });
  return dir;
}
