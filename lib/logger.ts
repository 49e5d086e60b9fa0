export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEntry {
  level: LogLevel;
  /** `rserver` for rserver's own lines, `rsession-proxy` for the library's. */
  source: 'rserver' | 'rsession-proxy';
  message: string;
}

/** Receives log entries; the library never writes to stdout or stderr itself. */
export type Logger = (entry: LogEntry) => void;

// The level of one of rserver's log lines (`<time> [rserver] ERROR <message>`).
export function getRServerLineLevel(line: string): LogLevel {
  const level = /\[[^\]]+\] (ERROR|WARNING|WARN|INFO|DEBUG)\b/.exec(line)?.[1];
  if (level === 'ERROR') return 'error';
  if (level === 'WARN' || level === 'WARNING') return 'warn';
  if (level === 'DEBUG') return 'debug';
  if (level === 'INFO') return 'info';
  return /error|unrecognised|missing|unable/i.test(line) ? 'error' : 'info';
}
