import { stopInstance } from '../../lib/index.js';
import { EXIT } from './exit-codes.js';
import { getString, parseFlags, type ParsedFlags } from './flags.js';
import type { Reporter } from './reporter.js';

export const STOP_FLAGS = {
  instance: { type: 'string' },
  socket: { type: 'string' },
  'runtime-dir': { type: 'string' },
} as const;

export function parseStopFlags(argv: readonly string[]): ParsedFlags {
  return parseFlags('rsession-proxy stop', argv, STOP_FLAGS);
}

// Stops a serve or exec through its supervisor (the library's stopInstance), and says so.
export async function runStop(
  flags: ParsedFlags,
  env: NodeJS.ProcessEnv,
  reporter: Reporter,
): Promise<number> {
  const socketPath = getString(flags, 'socket');
  const instance =
    getString(flags, 'instance') ??
    (socketPath === undefined ? env.RSESSION_PROXY_INSTANCE || undefined : undefined);
  const what = socketPath ?? `instance ${instance ?? 'default'}`;
  const result = await stopInstance({
    env,
    instance,
    socketPath,
    runtimeDir: getString(flags, 'runtime-dir'),
    logger: reporter.log,
  });
  if (result.pid === undefined) {
    reporter.info(
      result.cleaned
        ? `Nothing was running for ${what}; removed what a killed run left behind in ${result.dir}.`
        : `Nothing is running for ${what} (${result.dir}).`,
    );
    return EXIT.ok;
  }
  reporter.done(`stopped ${what} (supervisor pid ${result.pid})`);
  return EXIT.ok;
}
