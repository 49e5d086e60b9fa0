import { isRSessionProxyError } from '../../lib/index.js';

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

// Which exit code an error deserves: bad input is a usage error whether the CLI or the library
// found it; an instance already running has its own code.
export function getExitCode(error: unknown): number {
  if (error instanceof UsageError || isRSessionProxyError(error, 'EINVALIDOPTION'))
    return EXIT.usage;
  if (isRSessionProxyError(error, 'ELOCKED')) return EXIT.alreadyRunning;
  return EXIT.failure;
}
