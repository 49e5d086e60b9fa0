import { hostname, userInfo } from 'node:os';
import {
  SlurmBackend,
  createSlurmBackend,
  describeWaiting,
  serve,
  type SlurmProgress,
} from '../../lib/index.js';
import type { Command, CommandContext } from './command.js';
import { EXIT } from './exit-codes.js';
import { getBoolean, type ParsedFlags } from './flags.js';
import { SLURM_HELP } from './help.js';
import { createReporter, type Reporter } from './reporter.js';
import { FRONT_FLAGS, announceListener, getServeOptions, warnAboutTokenFlag } from './serve.js';
import { waitForShutdownSignal } from './signals.js';
import { createSpinner, type Spinner } from './spinner.js';

const COMMAND = 'rsession-proxy slurm';

// The fields of a progress event in --log-format=json.
function describeFields(progress: SlurmProgress): Record<string, unknown> {
  const job = 'job' in progress ? progress.job : undefined;
  return {
    event: progress.kind,
    job: progress.jobId,
    ...(job && {
      state: job.state,
      reason: job.reason,
      node: job.batchHost ?? job.nodes,
      queuedSeconds: job.submittedAt
        ? Math.round((Date.now() - job.submittedAt.getTime()) / 1000)
        : undefined,
      timeLeftSeconds: job.timeLeftSeconds,
    }),
    ...('node' in progress && { node: progress.node, socket: progress.socketPath }),
  };
}

// What the job is doing, as it happens: on a terminal the wait in the queue is one line that
// changes in place; in a log, one line per change of state or reason.
function showProgress(
  backend: SlurmBackend,
  reporter: Reporter,
  spinner: Spinner,
  stdout: NodeJS.WritableStream,
  prefix: string,
): void {
  let lastWait = '';
  backend.on('progress', (progress: SlurmProgress) => {
    const fields = describeFields(progress);
    switch (progress.kind) {
      case 'waiting': {
        const { job } = progress;
        spinner.show(() => describeWaiting(job, new Date()));
        const key = `${job.state} ${job.reason}`;
        if (key !== lastWait && !spinner.stream.isTTY) reporter.step(progress.message, fields);
        lastWait = key;
        return;
      }
      case 'ended':
        // serve reports it (the backend's `crash`), with what happens next.
        spinner.stop();
        return;
      case 'cancelling':
      case 'resubmitting':
        spinner.stop();
        reporter.step(progress.message, fields);
        return;
      case 'ready':
        spinner.stop();
        reporter.done(progress.message, fields);
        if (prefix === '/') printOneHop(progress.socketPath, progress.node, stdout);
        return;
      default:
        spinner.stop();
        reporter.done(progress.message, fields);
        lastWait = '';
    }
  });
}

// Sites with pam_slurm_adopt let a user ssh to a node where they have a job: then the browser
// can reach rserver's socket there in one hop. It is printed, not relied on, and says what it
// skips.
function printOneHop(socketPath: string, node: string, stdout: NodeJS.WritableStream): void {
  const user = userInfo().username;
  stdout.write(
    [
      'Or, where the site lets you ssh to a node that runs your job (pam_slurm_adopt), in one hop:',
      `  ssh -N -J ${user}@${hostname()} -L 8787:${socketPath} ${user}@${node}`,
      '  then open http://localhost:8787/ (straight to RStudio: no token, no Host check)',
      '',
    ].join('\n'),
  );
}

// `rsession-proxy slurm [serve's flags] [-- sbatch options]`: serve on this login node with a
// Slurm job as its backend, submitted at once (the queue is the long part), cancelled on
// SIGTERM, SIGINT or SIGHUP once Slurm reports it gone.
async function runSlurm(
  flags: ParsedFlags,
  { io, reporterOptions }: CommandContext,
): Promise<number> {
  const spinner = createSpinner(io.stderr);
  const reporter = createReporter({ ...reporterOptions, stream: spinner.stream });
  const options = getServeOptions(flags, io.env, COMMAND);
  const resubmit = !getBoolean(flags, 'no-resubmit');
  const spill = !getBoolean(flags, 'no-spill');
  warnAboutTokenFlag(flags, reporter);
  const shutdown = waitForShutdownSignal();
  try {
    const handle = await serve({
      ...options,
      extraArgs: [],
      logger: reporter.log,
      backend: (launch) =>
        createSlurmBackend({ ...launch, sbatchArgs: flags.rest, resubmit, spill }),
    });
    const { backend } = handle;
    if (!(backend instanceof SlurmBackend)) throw new Error('serve made no Slurm backend');
    showProgress(backend, reporter, spinner, io.stdout, handle.prefix);
    announceListener(handle, reporter, io.stdout);
    const ended = new Promise<void>((resolve) =>
      backend.on('progress', (progress: SlurmProgress) => {
        if (progress.kind === 'ended' && !resubmit) resolve();
      }),
    );
    const outcome = await Promise.race([
      backend.ensureRunning().then(
        () => ({ kind: 'ready' as const }),
        (error: unknown) => ({ kind: 'failed' as const, error }),
      ),
      shutdown.signal.then((signal) => ({ kind: 'signal' as const, signal })),
    ]);
    if (outcome.kind === 'failed') {
      spinner.stop();
      const error = outcome.error as Error & { hint?: string };
      reporter.error(error.message.split('\n')[0] ?? error.message);
      if (error.hint) reporter.info(error.hint);
      await handle.close();
      return EXIT.failure;
    }
    if (outcome.kind === 'ready') {
      reporter.info(
        `stop with Ctrl-C or \`rsession-proxy stop${options.instance ? ` --instance=${options.instance}` : ''}\`: either cancels the job`,
      );
    }
    const next =
      outcome.kind === 'signal'
        ? outcome
        : await Promise.race([
            shutdown.signal.then((signal) => ({ kind: 'signal' as const, signal })),
            ended.then(() => ({ kind: 'ended' as const })),
          ]);
    spinner.stop();
    if (next.kind === 'ended') {
      await handle.close();
      reporter.done('stopped (--no-resubmit); nothing left behind');
      return EXIT.failure;
    }
    reporter.step(`${next.signal}: stopping`);
    await handle.close();
    reporter.done('stopped; nothing left behind');
    return EXIT.ok;
  } finally {
    spinner.stop();
    shutdown.dispose();
  }
}

// serve's flags (but --demo: the double is not installed on compute nodes, and --open), and
// whether a job that ended by itself is replaced.
export const slurmCommand: Command = {
  name: 'slurm',
  flags: {
    ...FRONT_FLAGS,
    'no-resubmit': { type: 'boolean' },
    'no-spill': { type: 'boolean' },
  },
  help: SLURM_HELP,
  run: runSlurm,
};
