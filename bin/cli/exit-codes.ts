// No import of the library: `rsession-proxy relay` loads this file and must start fast.

/** The exit codes of the command, documented in docs/cli.md. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  alreadyRunning: 3,
} as const;

/** A mistake in how the command was called: one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
