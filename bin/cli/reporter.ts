import type { LogEntry, Logger } from '../../lib/index.js';

export type LogFormat = 'text' | 'json';

export interface Reporter {
  /** A step that completed: `✓ private directory …` on a terminal. */
  done(message: string, fields?: Record<string, unknown>): void;
  /** Something under way: `… starting rserver` on a terminal. */
  step(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string): void;
  /** The library's logger: its progress as steps, rserver's warnings and errors as lines. */
  readonly log: Logger;
}

export interface ReporterOptions {
  format: LogFormat;
  verbose: boolean;
  stream: NodeJS.WritableStream & { isTTY?: boolean };
}

// Status lines go to stderr, so stdout carries only what a script may capture (a URL, JSON).
export function createReporter({ format, verbose, stream }: ReporterOptions): Reporter {
  const tty = format === 'text' && stream.isTTY === true;
  const write = (level: string, message: string, fields: Record<string, unknown> = {}) => {
    if (format === 'json') {
      stream.write(
        `${JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })}\n`,
      );
    } else if (tty) {
      const mark = { done: '✓', step: '…', info: ' ', warn: '!', error: '✗' }[level] ?? ' ';
      stream.write(`${mark} ${message}\n`);
    } else {
      stream.write(
        `rsession-proxy: ${level === 'warn' || level === 'error' ? `${level}: ` : ''}${message}\n`,
      );
    }
  };
  const reporter: Reporter = {
    done: (message, fields) => write('done', message, fields),
    step: (message, fields) => write('step', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message) => write('error', message),
    log: (entry: LogEntry) => {
      if (entry.source === 'rserver') {
        if (verbose || entry.level === 'warn' || entry.level === 'error') {
          write(entry.level, `rserver: ${entry.message}`, { source: 'rserver' });
        }
        return;
      }
      if (entry.level === 'debug' && !verbose) return;
      if (entry.level === 'info') {
        if (entry.message.startsWith('starting rserver')) write('step', entry.message);
        else write('done', entry.message);
        return;
      }
      write(entry.level, entry.message);
    },
  };
  return reporter;
}
