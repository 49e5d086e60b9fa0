// Finding test processes through /proc by a marker in their environment.
import { readFileSync, readdirSync } from 'node:fs';
import { isProcessAlive, readProcStat } from '../../lib/proc.js';

export { waitUntil } from './processes.js';
/** Fields of /proc/<pid>/stat, or undefined when the process is gone. */
export const processStat = readProcStat;
/** Whether the process exists and is not a zombie. */
export const isAlive = isProcessAlive;

/** Live (non-zombie) pids whose environment has the entry `marker` (e.g. `KEY=value`). */
export function pidsWithEnv(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (environ.includes(marker) && isAlive(pid)) pids.push(pid);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}
