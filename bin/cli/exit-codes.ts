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
  if (error instanceof UsageError || hasErrorCode(error, 'EINVALIDOPTION')) return EXIT.usage;
  if (hasErrorCode(error, 'ELOCKED')) return EXIT.alreadyRunning;
  return EXIT.failure;
}

// The library's errors by their name and code rather than by class: this file is loaded by
// every command, the Slurm relay included, which must start without loading the library
// (bin/rsession-proxy.ts).
function hasErrorCode(error: unknown, code: string): boolean {
  return (
    error instanceof Error &&
    error.name === 'RSessionProxyError' &&
    (error as Error & { code?: unknown }).code === code
  );
}
