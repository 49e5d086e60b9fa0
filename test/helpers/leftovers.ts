// What a stopped instance may not leave behind: processes carrying its marker, sockets, locks.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pidsWithEnv } from './proc.js';

/** Live processes that rserver, rsession or their children left for `instanceDir`. */
export function markedPids(instanceDir: string): number[] {
  return pidsWithEnv(`RSESSION_PROXY_MARKER=${instanceDir}`);
}

// Sockets, lock directories and lock files anywhere under `dir` (paths relative to it).
export function findSocketsAndLocks(dir: string): string[] {
  const found: string[] = [];
  const walk = (relative: string) => {
    let names: string[];
    try {
      names = readdirSync(join(dir, relative));
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(relative, name);
      let stats;
      try {
        stats = statSync(join(dir, path));
      } catch {
        continue;
      }
      if (stats.isSocket() || /\.lock(\.json)?$|\.gate\.lock$/.test(name)) found.push(path);
      else if (stats.isDirectory()) walk(path);
    }
  };
  walk('');
  return found;
}
