import { readdirSync, statSync } from 'node:fs';
import { readProcStat } from '../proc.js';
import type { LockHolder } from './lock.js';

// Whether `holder` is provably the live supervisor of the instance in `dir`: the pid is a real
// one (> 1), it still has the start time recorded with the lock (so it was not reused), and it
// holds the instance directory open — every supervisor does from open to close
// (private-dir.ts holdPrivateDir), and /proc shows a process's descriptors only to its owner.
// Nothing else is ever signalled on the strength of a lock file.
export function isInstanceSupervisor(holder: LockHolder, dir: string): boolean {
  const { pid, startTime } = holder;
  if (!Number.isSafeInteger(pid) || pid <= 1 || startTime === undefined) return false;
  if (readProcStat(pid)?.startTime !== startTime) return false;
  let target: { dev: number; ino: number };
  try {
    target = statSync(dir);
  } catch {
    return false;
  }
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((fd) => {
    try {
      const stats = statSync(`/proc/${pid}/fd/${fd}`);
      return stats.isDirectory() && stats.dev === target.dev && stats.ino === target.ino;
    } catch {
      return false;
    }
  });
}
