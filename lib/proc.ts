import { readFileSync } from 'node:fs';
import { isErrnoException } from './errno.js';

export interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** Clock ticks after boot: with the pid, it names one process even when pids are reused. */
  startTime: number;
}

// Parses /proc/<pid>/stat; the command name is in parentheses and may itself contain ") ".
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const fields = text.slice(close + 2).split(' ');
  const numberAt = (index: number) => Number(fields[index]);
  const stat = {
    pid,
    state: fields[0] ?? '',
    ppid: numberAt(1),
    pgrp: numberAt(2),
    session: numberAt(3),
    startTime: numberAt(19),
  };
  return Object.values(stat).some((value) => Number.isNaN(value)) ? undefined : stat;
}

export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

// A zombie has finished; EPERM means the process exists but belongs to someone else.
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return isErrnoException(error, 'EPERM');
  }
  return readProcStat(pid)?.state !== 'Z';
}
