import { constants } from 'node:os';
import {
  launchRServer,
  normalizeRootPath,
  openJobSide,
  writeStatusRecord,
} from '../../lib/index.js';
import type { Command, CommandContext } from './command.js';
import { EXIT, UsageError } from './exit-codes.js';
import { getString, readFlagSettings, type ParsedFlags } from './flags.js';
import { EXEC_HELP } from './help.js';
import { commonLaunchFlags, launchOptionsFrom } from './launch-flags.js';
import { waitForShutdownSignal } from './signals.js';

// jupyter-server-proxy's command: rserver on the socket it chose, in the foreground, with the
// exit status of rserver when rserver ends, and 0 after a clean stop on a signal.
async function runExec(flags: ParsedFlags, { io, reporter }: CommandContext): Promise<number> {
  // Every flag is checked before anything else, so each mistake is reported for itself.
  const rootPath = getString(flags, 'root-path');
  const options = {
    ...launchOptionsFrom(readFlagSettings(flags), flags, io.env),
    rootPath: rootPath === undefined ? undefined : normalizeRootPath(rootPath),
  };
  const socketPath = getString(flags, 'socket');
  const jobDir = getString(flags, 'slurm-job');
  if (socketPath !== undefined && jobDir !== undefined) {
    throw new UsageError(
      'rsession-proxy exec: --slurm-job chooses the socket on the node itself; drop --socket',
    );
  }
  if (socketPath === undefined && jobDir === undefined) {
    throw new UsageError(
      'rsession-proxy exec: --socket=PATH is required (jupyter-server-proxy passes --socket={unix_socket})',
    );
  }
  const shutdown = waitForShutdownSignal();
  try {
    // In the batch job of `rsession-proxy slurm`: the socket in a private directory named after
    // the job, and word of the start in the job directory, which the login side reads.
    const job = jobDir === undefined ? undefined : await openJobSide(jobDir, io.env);
    await job?.starting();
    let rserver;
    try {
      rserver = await launchRServer({
        ...options,
        // jupyter-server-proxy's socket (or the job's) is rserver's own until exec bridges it with
        // the sign-in that an rserver without --www-socket needs (issue #16): such one is refused.
        isolation: 'socket',
        ...(job ? job.instance : { socketPath }),
        logger: reporter.log,
      });
    } catch (error) {
      await job?.failed(error).catch(() => undefined);
      throw error;
    }
    await job?.ready(rserver.socketPath);
    const record = {
      kind: 'exec' as const,
      instance: rserver.instance.name,
      pid: process.pid,
      socket: rserver.socketPath,
      prefix: rserver.rootPath,
      startedAt: new Date().toISOString(),
      state: 'running',
      rserverPid: rserver.pid,
      readySince: new Date().toISOString(),
    };
    await writeStatusRecord(rserver.instance.statusFile, record);
    reporter.info(`serving RStudio on ${rserver.socketPath}`, {
      socket: rserver.socketPath,
      pid: rserver.pid,
    });
    const ended = await Promise.race([
      rserver.exited.then((exit) => ({ exit })),
      shutdown.signal.then((signal) => ({ signal })),
    ]);
    if ('signal' in ended) {
      reporter.step(`${ended.signal}: stopping rserver`);
      await rserver.stop();
      reporter.done('stopped; nothing left behind');
      return EXIT.ok;
    }
    const { exit } = ended;
    reporter.error(exit.error?.message ?? `rserver exited (${exit.signal ?? `code ${exit.code}`})`);
    if (exit.signal) return 128 + constants.signals[exit.signal as NodeJS.Signals];
    return exit.code ?? EXIT.failure;
  } finally {
    shutdown.dispose();
  }
}

export const execCommand: Command = {
  name: 'exec',
  flags: {
    socket: { type: 'string' },
    'root-path': { type: 'string' },
    'slurm-job': { type: 'string' },
    ...commonLaunchFlags,
  },
  help: EXEC_HELP,
  run: runExec,
};
