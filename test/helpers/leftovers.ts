// What a stopped instance may not leave behind: processes carrying its marker, sockets, locks.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

// What marks a process as one of the instance's, written out here rather than taken from the
// library (whose process functions are under test): rserver carries the marker; rsession, whose
// environment rserver builds anew, carries RS_SESSION_TMP_DIR below the instance's data
// directory `<dir>/d`.
function instanceMarkers(instanceDir: string): string[] {
  return [
    `RSESSION_PROXY_MARKER=${instanceDir}`,
    `RS_SESSION_TMP_DIR=${instanceDir}/d/rstudio-rsession`,
  ];
}

/** Live processes that rserver, rsession or their children left for `instanceDir`. */
export function markedPids(instanceDir: string): number[] {
  return readInstanceProcesses(instanceDir).map((entry) => entry.pid);
}

/** Live processes of any instance below a runtime directory (an exec's is named after its socket). */
export function markedPidsUnder(runtimeDir: string): number[] {
  return readInstanceProcesses(`${runtimeDir}/`, true).map((entry) => entry.pid);
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

/** A live process of the instance, as /proc shows it. */
export interface InstanceProcess {
  pid: number;
  /** The command name (`rserver` is the double's Node: `node`; its rsession sets `rsession`). */
  name: string;
}

// The live processes of the instance (`below`: of any instance below a directory), read from
// /proc by the test itself (the
// library's own process functions are what is under test): environ for the marker, stat for
// the state (a zombie has ended) and the name.
export function readInstanceProcesses(instanceDir: string, below = false): InstanceProcess[] {
  const markers = below
    ? [`RSESSION_PROXY_MARKER=${instanceDir}`, `RS_SESSION_TMP_DIR=${instanceDir}`]
    : instanceMarkers(instanceDir);
  const matches = (entry: string) =>
    below ? markers.some((m) => entry.startsWith(m)) : markers.includes(entry);
  const found: InstanceProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      if (!environ.some(matches)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if (state !== 'Z' && state !== 'X') found.push({ pid: Number(entry), name });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
