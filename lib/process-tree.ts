import { readFileSync, readdirSync, statSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { isProcessAlive, readProcStat, type ProcStat } from './proc.js';

export interface ProcessEntry extends ProcStat {
  uid: number;
}

// Every process visible in /proc with its parent, group, session, start time and owner.
export function listProcesses(): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (!stat) continue;
    try {
      entries.push({ ...stat, uid: statSync(`/proc/${name}`).uid });
    } catch {
      // it exited between the two reads
    }
  }
  return entries;
}

// The processes below `pid` in the parent tree; collected before signalling, because once
// rserver dies its children are re-parented and the tree is lost.
export function getDescendants(pid: number, processes: readonly ProcessEntry[]): ProcessEntry[] {
  const children = new Map<number, ProcessEntry[]>();
  for (const entry of processes) {
    const siblings = children.get(entry.ppid) ?? [];
    siblings.push(entry);
    children.set(entry.ppid, siblings);
  }
  const found: ProcessEntry[] = [];
  const queue = [pid];
  for (let parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
    for (const child of children.get(parent) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

// Whether /proc/<pid>/environ holds one of `entries` (`NAME=value`).
function hasEnvironment(pid: number, entries: readonly string[]): boolean {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    return entries.some((entry) => environ.includes(entry));
  } catch {
    return false;
  }
}

// This user's processes that carry one of the instance's markers in their environment
// (instance/marker.ts): rserver, its rsession children and whatever they started, even after
// they left the process group or were re-parented to init because the supervisor died.
export function findMarkedProcesses(
  markers: readonly string[],
  processes: readonly ProcessEntry[] = listProcesses(),
): ProcessEntry[] {
  const uid = process.getuid?.() ?? -1;
  const ancestors = getAncestors(process.pid, processes);
  return processes.filter(
    (entry) => entry.uid === uid && !ancestors.has(entry.pid) && hasEnvironment(entry.pid, markers),
  );
}

function getAncestors(pid: number, processes: readonly ProcessEntry[]): Set<number> {
  const byPid = new Map(processes.map((entry) => [entry.pid, entry]));
  const ancestors = new Set<number>();
  for (
    let current = byPid.get(pid);
    current && !ancestors.has(current.pid);
    current = byPid.get(current.ppid)
  ) {
    ancestors.add(current.pid);
  }
  return ancestors;
}

// Still the same process: alive, and its start time unchanged (the pid was not reused).
function isSameProcess(entry: ProcStat): boolean {
  return isProcessAlive(entry.pid) && readProcStat(entry.pid)?.startTime === entry.startTime;
}

function signal(entry: ProcStat, name: NodeJS.Signals): void {
  try {
    if (isSameProcess(entry)) process.kill(entry.pid, name);
  } catch {
    // gone meanwhile
  }
}

// Ends each process: SIGTERM, then SIGKILL for those still there after `grace` ms; resolves
// once all are gone (or `grace` more ms after SIGKILL, for the unkillable).
export async function terminateProcesses(
  entries: readonly ProcStat[],
  grace: number,
): Promise<ProcStat[]> {
  const pending = () => entries.filter(isSameProcess);
  for (const entry of pending()) signal(entry, 'SIGTERM');
  if (await waitUntilGone(pending, grace)) return [];
  for (const entry of pending()) signal(entry, 'SIGKILL');
  await waitUntilGone(pending, grace);
  return pending();
}

async function waitUntilGone(pending: () => ProcStat[], timeout: number): Promise<boolean> {
  const deadline = Date.now() + timeout;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    if (pending().length === 0) return true;
    if (Date.now() >= deadline) return false;
    await delay(wait);
  }
}
