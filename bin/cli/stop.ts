import { cancelRecordedJob, stopInstance } from '../../lib/index.js';
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
  // A slurm instance whose login side was killed left its job running: that is cancelled too.
  const job = socketPath === undefined ? await cancelRecordedJob({ instance, env }) : undefined;
  if (job)
    reporter.done(`cancelled job ${job.id}, which a killed login side had left ${job.state}`);
  if (result.pid === undefined) {
    if (job) return EXIT.ok;
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
