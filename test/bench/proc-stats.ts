import { readFileSync, readdirSync } from 'node:fs';
import { readProcStat } from '../../lib/proc.js';

export interface Memory {
  /** Resident set size now, in KiB (VmRSS). */
  rssKb: number;
  /** The highest it has been (VmHWM), in KiB. */
  hwmKb: number;
}

// VmRSS and VmHWM from the text of /proc/<pid>/status.
export function parseStatusMemory(text: string): Memory | undefined {
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
    return match ? Number(match[1]) : undefined;
  };
  const rssKb = field('VmRSS');
  const hwmKb = field('VmHWM');
  return rssKb === undefined || hwmKb === undefined ? undefined : { rssKb, hwmKb };
}

// The memory of a set of processes (nginx's master and worker), summed.
export function readMemory(pids: readonly number[]): Memory {
  let rssKb = 0;
  let hwmKb = 0;
  for (const pid of pids) {
    const memory = parseStatusMemory(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (!memory) throw new Error(`no memory figures in /proc/${pid}/status`);
    rssKb += memory.rssKb;
    hwmKb += memory.hwmKb;
  }
  return { rssKb, hwmKb };
}

/** What of a process's RSS is its own: its share of pages it shares (Pss), and its anonymous pages. */
export interface MemoryShares {
  pssKb: number;
  anonymousKb: number;
}

// Pss and Anonymous from the text of /proc/<pid>/smaps_rollup.
export function parseSmapsRollup(text: string): MemoryShares | undefined {
  const pss = /^Pss:\s+(\d+) kB$/m.exec(text)?.[1];
  const anonymous = /^Anonymous:\s+(\d+) kB$/m.exec(text)?.[1];
  if (pss === undefined || anonymous === undefined) return undefined;
  return { pssKb: Number(pss), anonymousKb: Number(anonymous) };
}

// Summed over a set of processes; undefined where the kernel has no smaps_rollup (before 4.14).
export function readMemoryShares(pids: readonly number[]): MemoryShares | undefined {
  let pssKb = 0;
  let anonymousKb = 0;
  for (const pid of pids) {
    let shares: MemoryShares | undefined;
    try {
      shares = parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    } catch {
      return undefined;
    }
    if (!shares) return undefined;
    pssKb += shares.pssKb;
    anonymousKb += shares.anonymousKb;
  }
  return { pssKb, anonymousKb };
}

// utime + stime, in clock ticks, from the text of /proc/<pid>/stat (fields 14 and 15; the
// command name in parentheses may contain spaces).
export function parseCpuTicks(text: string): number {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Clock ticks per second of /proc/<pid>/stat: USER_HZ, 100 on every Linux port that matters. */
export const TICKS_PER_SECOND = 100;

// CPU time used so far by a set of processes, in seconds.
export function readCpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += parseCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return ticks / TICKS_PER_SECOND;
}

// The direct children of a process (nginx's worker is the master's child).
export function findChildren(pid: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (/^\d+$/.test(name) && readProcStat(Number(name))?.ppid === pid) children.push(Number(name));
  }
  return children;
}

// Samples the RSS of `pids` every `intervalMs` until stopped; resolves the largest sample.
export function sampleRss(pids: readonly number[], intervalMs = 50): { stop(): number } {
  let peak = readMemory(pids).rssKb;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, readMemory(pids).rssKb);
    } catch {
      // a process exited: the samples so far stand
    }
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}
