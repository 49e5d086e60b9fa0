// How a host looks to the launcher when it cannot put rserver in a PID namespace: no `unshare`
// on PATH (a minimal install, or an administrator who keeps it off users' PATH). Everything else
// on PATH stays, so the double, setpriv and the watchdog's tools are found as before.
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** A directory of links to every command on `path` but `name`; returns it as a PATH. */
export function makePathWithout(name: string, dir: string, path = process.env.PATH ?? ''): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const source of path.split(delimiter)) {
    let entries: string[];
    try {
      entries = readdirSync(source);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const link = join(dir, entry);
      // The first on PATH wins, as a shell would find it.
      if (entry !== name && !existsSync(link)) symlinkSync(join(source, entry), link);
    }
  }
  return dir;
}
