import { cancelRecordedJob, stopInstance } from '../../lib/index.js';
import type { Command, CommandContext } from './command.js';
import { EXIT } from './exit-codes.js';
import { getString, readFlagSettings, type ParsedFlags } from './flags.js';
import { STOP_HELP } from './help.js';

// Stops a serve or exec through its supervisor (the library's stopInstance), and says so.
async function runStop(flags: ParsedFlags, { io, reporter }: CommandContext): Promise<number> {
  const settings = readFlagSettings(flags);
  const socketPath = getString(flags, 'socket');
  const result = await stopInstance({
    env: io.env,
    instance: settings.instance,
    socketPath,
    runtimeDir: settings.runtimeDir,
    logger: reporter.log,
  });
  const what = socketPath ?? `instance ${result.name}`;
  // A slurm instance whose login side was killed left its job running: that is cancelled too.
  const job =
    socketPath === undefined
      ? await cancelRecordedJob({ instance: result.name, env: io.env })
      : undefined;
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

export const stopCommand: Command = {
  name: 'stop',
  flags: {
    instance: { type: 'string' },
    socket: { type: 'string' },
    'runtime-dir': { type: 'string' },
  },
  help: STOP_HELP,
  run: runStop,
};
