import { RSessionProxyError } from '../errors.js';

/** How long the supervisor waits before starting rserver again after crashes in a row. */
export interface BackoffOptions {
  /** The wait after the second crash in a row, in ms (the first is restarted at once); doubled for each further one. Default 1 000. */
  first?: number | undefined;
  /** The longest wait, in ms. Default 30 000. */
  max?: number | undefined;
  /** A run that lasted this long (ms from ready to exit) was no failure in a row: the count starts again. Default 60 000. */
  resetAfter?: number | undefined;
}

export type Backoff = Required<{ [K in keyof BackoffOptions]: number }>;

const MAX_MS = 2 ** 31 - 1;

// Every default in one place, each value checked with a message naming it.
export function normalizeBackoff(options: BackoffOptions = {}): Backoff {
  const { first = 1000, max = 30_000, resetAfter = 60_000 } = { ...options };
  const check = (value: unknown, name: string): number => {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_MS) {
      return value;
    }
    throw new RSessionProxyError(
      'EINVALIDOPTION',
      `Expected the \`backoff.${name}\` option to be an integer from 0 to ${MAX_MS} (ms), got ${String(value)}.`,
    );
  };
  return {
    first: check(first, 'first'),
    max: check(max, 'max'),
    resetAfter: check(resetAfter, 'resetAfter'),
  };
}

// The wait before the next start, given how many runs crashed in a row: a single crash
// is restarted at once (it is the usual case, and the user is waiting), a second one after
// `first` ms, then twice as long each time up to `max`: an rserver that cannot stay up is not
// restarted in a loop that burns the host's CPU and floods the log.
export function getRestartDelay(crashes: number, backoff: Backoff): number {
  if (crashes <= 1) return 0;
  return Math.min(backoff.max, backoff.first * 2 ** Math.min(crashes - 2, 30));
}

// The count after a run ended: a run that lasted `resetAfter` wipes the slate before its own
// ending is counted; an ending that was asked for (stop) is no crash.
export function countAfterRun(
  crashes: number,
  ranMs: number,
  crashed: boolean,
  backoff: Backoff,
): number {
  const before = ranMs >= backoff.resetAfter ? 0 : crashes;
  return before + (crashed ? 1 : 0);
}
