import { readFileSync } from 'node:fs';
import type { ProcessEntry } from '../process-tree.js';
import type { SandboxKind } from './sandbox.js';

/** The processes the launcher put between itself and rserver, and rserver. */
export interface SandboxProcesses {
  rserver: ProcessEntry | undefined;
  wrappers: ProcessEntry[];
}

// The innermost pid in /proc/<pid>/status's NSpid: the pid the process has in its own namespace.
function readNamespacePid(pid: number): number | undefined {
  try {
    const line = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    const last = line?.trim().split(/\s+/).at(-1);
    return last === undefined ? undefined : Number(last);
  } catch {
    return undefined;
  }
}

// Finds rserver below the process the launcher spawned (`leader`): that process itself without
// a namespace; in one, the namespace's first process is unshare's child and rserver its first
// child (pid 2 inside, which tells it from the rsessions re-parented to the init script).
export function findSandboxProcesses(
  kind: SandboxKind,
  leader: number,
  processes: readonly ProcessEntry[],
): SandboxProcesses {
  const self = processes.find((entry) => entry.pid === leader);
  if (kind === 'watchdog') return { rserver: self, wrappers: [] };
  const init = findNamespaceInit(leader, processes);
  const rserver = init
    ? processes.find((entry) => entry.ppid === init.pid && readNamespacePid(entry.pid) === 2)
    : undefined;
  return { rserver, wrappers: [self, init].filter((entry) => entry !== undefined) };
}

// The namespace's first process (the init script), unshare's child: slirp4netns joins its network
// namespace. Undefined until unshare has forked it, and outside a namespace.
export function findNamespaceInit(
  leader: number,
  processes: readonly ProcessEntry[],
): ProcessEntry | undefined {
  return processes.find((entry) => entry.ppid === leader);
}
