import {
  findMarkedProcesses,
  getDescendants,
  listProcesses,
  terminateProcesses,
  type ProcessEntry,
} from '../process-tree.js';
import type { SandboxKind } from './sandbox.js';
import { findSandboxProcesses } from './sandbox-processes.js';

export interface StopTarget {
  /** The process the launcher spawned; rserver is in its process group. */
  leader: number;
  kind: SandboxKind;
  /** The environment entries that mark the instance's processes (instance/marker.ts). */
  markers: readonly string[];
  /** Resolves when the spawned process has exited. */
  exited: Promise<unknown>;
  hasExited(): boolean;
  /** How long rsessions, then rserver, get after SIGTERM before SIGKILL, in ms. */
  grace: number;
}

// The processes of the instance other than rserver and its wrappers: the rsessions and what
// they started, found in the parent tree (collected before anything is signalled: once rserver
// dies its children are re-parented and the tree is lost) and by the instance marker (for those
// that left the group or were re-parented because an earlier supervisor died).
function findSessions(
  target: StopTarget,
  processes: readonly ProcessEntry[],
): { rserver: number | undefined; sessions: ProcessEntry[] } {
  const { rserver, wrappers } = findSandboxProcesses(target.kind, target.leader, processes);
  const own = new Set([target.leader, ...wrappers.map((entry) => entry.pid)]);
  if (rserver) own.add(rserver.pid);
  const sessions = new Map<number, ProcessEntry>();
  for (const entry of [
    ...getDescendants(target.leader, processes),
    ...findMarkedProcesses(target.markers, processes),
  ]) {
    if (!own.has(entry.pid)) sessions.set(entry.pid, entry);
  }
  return { rserver: rserver?.pid, sessions: [...sessions.values()] };
}

// rserver's process group (the wrappers ignore SIGTERM), and rserver itself should it have left
// the group.
function signalGroup(leader: number, rserver: number | undefined, signal: NodeJS.Signals): void {
  for (const target of [-leader, leader, ...(rserver === undefined ? [] : [rserver])]) {
    try {
      process.kill(target, signal);
    } catch {
      // already gone
    }
  }
}

// Whether `promise` settles within `ms`; the timer is cleared either way.
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Stops rserver and everything it started, in the order that loses nothing: the rsessions first
// (SIGTERM, on which rsession saves its session, then their grace period and SIGKILL), while
// rserver still runs, because in a PID namespace rserver's end SIGKILLs every process left in
// it; then rserver (SIGTERM to its process group, SIGKILL after the grace period); then whatever
// is left, or was started meanwhile.
export async function stopRServerTree(target: StopTarget): Promise<void> {
  const { rserver, sessions } = findSessions(target, listProcesses());
  if (!target.hasExited()) {
    await terminateProcesses(sessions, target.grace);
    signalGroup(target.leader, rserver, 'SIGTERM');
    if (!(await settlesWithin(target.exited, target.grace))) {
      signalGroup(target.leader, rserver, 'SIGKILL');
      await target.exited;
    }
  }
  const grace = Math.min(target.grace, 2000);
  await terminateProcesses(sessions, grace);
  await terminateProcesses(findMarkedProcesses(target.markers), grace);
}
