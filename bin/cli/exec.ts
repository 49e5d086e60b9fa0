import { getSignalExitStatus, normalizeRootPath, serveExec } from '../../lib/index.js';
import { UsageError } from './exit-codes.js';
import { getString, parseFlags, type ParsedFlags } from './flags.js';
import type { Reporter } from './reporter.js';
import { waitForShutdownSignal } from './signals.js';
import { commonLaunchFlags, commonLaunchOptions } from './launch-flags.js';

export const EXEC_FLAGS = {
  socket: { type: 'string' },
  'root-path': { type: 'string' },
  ...commonLaunchFlags,
} as const;

export function parseExecFlags(argv: readonly string[]): ParsedFlags {
  return parseFlags('rsession-proxy exec', argv, EXEC_FLAGS);
}

// Serves until a signal says stop, then exits with the status that jupyter-server-proxy needs
// (lib/exec/exit-status.ts says why).
export async function runExec(
  flags: ParsedFlags,
  env: NodeJS.ProcessEnv,
  reporter: Reporter,
): Promise<number> {
  // Every flag is checked before anything else, so each mistake is reported for itself.
  const rootPath = getString(flags, 'root-path');
  const options = {
    ...commonLaunchOptions('rsession-proxy exec', flags, env),
    rootPath: rootPath === undefined ? undefined : normalizeRootPath(rootPath),
  };
  const socketPath = getString(flags, 'socket');
  if (socketPath === undefined) {
    throw new UsageError(
      'rsession-proxy exec: --socket=PATH is required (jupyter-server-proxy passes --socket={unix_socket})',
    );
  }
  const shutdown = waitForShutdownSignal();
  try {
    const handle = await serveExec({
      ...options,
      socketPath,
      extraArgs: flags.rest,
      logger: reporter.log,
    });
    reporter.info(`serving RStudio on ${handle.socketPath}; rserver is starting`, {
      socket: handle.socketPath,
    });
    const signal = await shutdown.signal;
    reporter.step(`${signal}: stopping rserver`);
    await handle.close();
    const status = getSignalExitStatus(signal);
    reporter.done(`stopped; nothing left behind; exit status ${status}`);
    return status;
  } finally {
    shutdown.dispose();
  }
}
