import { constants } from 'node:os';
import {
  getSignalExitStatus,
  normalizeRootPath,
  openJobSide,
  serveExec,
  startJobServer,
  writeStatusRecord,
  type ExecOptions,
  type JobSide,
  type LaunchOptions,
} from '../../lib/index.js';
import type { Command, CommandContext } from './command.js';
import { EXIT, UsageError } from './exit-codes.js';
import { getString, readFlagSettings, type ParsedFlags } from './flags.js';
import { EXEC_HELP } from './help.js';
import { commonLaunchFlags, launchOptionsFrom } from './launch-flags.js';
import type { Reporter } from './reporter.js';
import { waitForShutdownSignal } from './signals.js';

type Shutdown = ReturnType<typeof waitForShutdownSignal>;

// jupyter-server-proxy's command (--socket), or rserver in the batch job of `rsession-proxy
// slurm` (--slurm-job), in the foreground until told to stop.
async function runExec(flags: ParsedFlags, { io, reporter }: CommandContext): Promise<number> {
  // Every flag is checked before anything else, so each mistake is reported for itself.
  const rootPath = getString(flags, 'root-path');
  const options = {
    ...launchOptionsFrom(readFlagSettings(flags), flags, io.env),
    rootPath: rootPath === undefined ? undefined : normalizeRootPath(rootPath, '--root-path'),
    logger: reporter.log,
  };
  const socketPath = getString(flags, 'socket');
  const jobDir = getString(flags, 'slurm-job');
  if (socketPath !== undefined && jobDir !== undefined) {
    throw new UsageError(
      'rsession-proxy exec: --slurm-job chooses the socket on the node itself; drop --socket',
    );
  }
  const shutdown = waitForShutdownSignal();
  try {
    if (jobDir !== undefined) return await runJobExec(options, jobDir, io.env, shutdown, reporter);
    if (socketPath === undefined) {
      throw new UsageError(
        'rsession-proxy exec: --socket=PATH is required (jupyter-server-proxy passes --socket={unix_socket})',
      );
    }
    return await runSocketExec({ ...options, socketPath }, shutdown, reporter);
  } finally {
    shutdown.dispose();
  }
}

// Serves until a signal says stop, then exits with the status that jupyter-server-proxy needs
// (lib/exec/exit-status.ts says why).
async function runSocketExec(
  options: ExecOptions,
  shutdown: Shutdown,
  reporter: Reporter,
): Promise<number> {
  const handle = await serveExec(options);
  reporter.info(`serving RStudio on ${handle.socketPath}; rserver is starting`, {
    socket: handle.socketPath,
  });
  const signal = await shutdown.signal;
  reporter.step(`${signal}: stopping rserver`);
  await handle.close();
  const status = getSignalExitStatus(signal);
  reporter.done(`stopped; nothing left behind; exit status ${status}`);
  return status;
}

// In the batch job of `rsession-proxy slurm`: rserver (or, when it runs with a password, exec's
// front before it) on a socket in a private directory named after the job, word of the start in
// the job directory (which the login side reads), and rserver's exit status when it ends (the
// login side submits a new job), 0 after a signal.
async function runJobExec(
  options: LaunchOptions & { rootPath?: string | undefined },
  jobDir: string,
  env: NodeJS.ProcessEnv,
  shutdown: Shutdown,
  reporter: Reporter,
): Promise<number> {
  const job = await openJobSide(jobDir, env);
  // Whatever ends the job's exec, no chunk file of a download is left in the state directory.
  try {
    return await serveJob(options, job, shutdown, reporter);
  } finally {
    await job.removeSpillDir();
  }
}

// rserver for the job, reported ready, until it ends or a signal says stop.
async function serveJob(
  options: LaunchOptions & { rootPath?: string | undefined },
  job: JobSide,
  shutdown: Shutdown,
  reporter: Reporter,
): Promise<number> {
  await job.starting();
  let served;
  try {
    served = await startJobServer({ ...options, instance: job.instance.instance });
  } catch (error) {
    await job.failed(error).catch(() => undefined);
    throw error;
  }
  const { rserver } = served;
  await job.ready(served.socketPath, served.isolation);
  // exec's front writes its own record.
  if (served.direct) {
    await writeStatusRecord(served.instance.statusFile, {
      kind: 'exec',
      instance: served.instance.name,
      pid: process.pid,
      socket: served.socketPath,
      prefix: rserver.rootPath,
      startedAt: new Date().toISOString(),
      state: 'running',
      rserverPid: rserver.pid,
      readySince: new Date().toISOString(),
    });
  }
  reporter.info(
    `serving RStudio on ${served.socketPath}${served.direct ? '' : ", through exec's front, which signs in"}`,
    { socket: served.socketPath, pid: rserver.pid },
  );
  const ended = await Promise.race([
    rserver.exited.then((exit) => ({ exit })),
    shutdown.signal.then((signal) => ({ signal })),
  ]);
  if ('signal' in ended) {
    reporter.step(`${ended.signal}: stopping rserver`);
    await served.close();
    reporter.done('stopped; nothing left behind');
    return EXIT.ok;
  }
  await served.close();
  const { exit } = ended;
  reporter.error(exit.error?.message ?? `rserver exited (${exit.signal ?? `code ${exit.code}`})`);
  if (exit.signal) return 128 + constants.signals[exit.signal as NodeJS.Signals];
  return exit.code ?? EXIT.failure;
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
