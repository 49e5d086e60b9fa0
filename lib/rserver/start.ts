import { getRServerLineLevel } from '../logger.js';
import { getCurrentUser } from '../users.js';
import { INSTANCE_MARKER, getInstanceMarkers } from '../instance/marker.js';
import type { InstanceLayout } from '../instance/layout.js';
import { stopLeftovers } from '../instance/leftovers.js';
import { buildRServerArgs, buildRServerEnv } from './arguments.js';
import {
  createExitedError,
  createTimeoutError,
  throwIfAborted,
  type ExitStatus,
} from './exit-errors.js';
import { findR } from './find.js';
import { LineTail } from './line-tail.js';
import type { NormalizedLaunchOptions } from './options.js';
import type { RServerProbe } from './probe.js';
import { waitForHttp } from './readiness.js';
import { RunningRServer } from './running.js';
import { buildSandboxedCommand } from './sandbox.js';
import { detectSandbox } from './sandbox-detect.js';
import { spawnRServer } from './spawn.js';
import { startWatchdog } from './watchdog.js';

export interface StartRServerInput {
  options: NormalizedLaunchOptions;
  layout: InstanceLayout;
  probe: RServerProbe;
  signal?: AbortSignal | undefined;
  /** Runs after every stop, requested or not: removes sockets, releases what the caller holds. */
  afterStop?: (() => Promise<void>) | undefined;
}

// Starts rserver on the instance's socket, in the sandbox this host allows, and resolves once it
// answers HTTP there. Rejects with ERSERVEREXITED (with the exit status, the stderr tail and a
// hint for known failures), ERSERVERTIMEOUT or EABORTED, leaving no process and no socket behind.
export async function startRServer(input: StartRServerInput): Promise<RunningRServer> {
  const { options, layout, probe } = input;
  const log = options.logger;
  const user = getCurrentUser().name;
  const args = buildRServerArgs(
    {
      socketPath: layout.socketPath,
      rootPath: options.rootPath,
      user,
      dataDir: layout.dataDir,
      databaseConfigFile: layout.databaseConfigFile,
      cookieKeyFile: layout.cookieKeyFile,
      frameOrigin: options.frameOrigin,
      r: findR(options),
      threadPoolSize: options.threadPoolSize,
      extraArgs: options.extraArgs,
    },
    probe.options,
  );
  const env = buildRServerEnv(options.env, { user, marker: layout.dir });
  await stopLeftovers(layout, options);
  throwIfAborted(input.signal);
  const sandbox = await detectSandbox(options.env);
  const sandboxed = { env, marker: INSTANCE_MARKER, grace: Math.min(options.stopTimeout, 2000) };
  const command = buildSandboxedCommand(sandbox, [probe.path, ...args], sandboxed);
  log?.({
    level: 'info',
    source: 'rsession-proxy',
    message: `starting rserver ${probe.path}${probe.version ? ` (${probe.version})` : ''}; ${sandbox.description}`,
  });
  log?.({
    level: 'debug',
    source: 'rsession-proxy',
    // The init script is long and has many lines: sandbox.ts shows it.
    message: `starting ${[command.file, ...command.args].map((arg) => (arg.includes('\n') ? '<script>' : arg)).join(' ')}`,
  });
  // Under the watchdog it starts before rserver, so that no moment of rserver's run is
  // unwatched; in the namespace the kernel does its job.
  const watchdog =
    sandbox.kind === 'watchdog'
      ? await startWatchdog(getInstanceMarkers(layout), sandboxed.grace, env.PATH)
      : { release: () => undefined };
  const tail = new LineTail(50);
  let spawned;
  try {
    spawned = await spawnRServer(command, (line) => {
      tail.push(line);
      log?.({ level: getRServerLineLevel(line), source: 'rserver', message: line });
    });
  } catch (error) {
    watchdog.release();
    throw error;
  }
  const rserver = new RunningRServer({
    spawned,
    sandbox,
    watchdog,
    tail,
    socketPath: layout.socketPath,
    rootPath: options.rootPath,
    markers: getInstanceMarkers(layout),
    stopTimeout: options.stopTimeout,
    afterStop: input.afterStop,
  });
  return waitUntilReady(rserver, input);
}

// Readiness is any HTTP answer on the socket; rserver's exit, the timeout or the caller's signal
// end the wait first. Whatever ends it, a start that fails leaves nothing running.
async function waitUntilReady(
  rserver: RunningRServer,
  input: StartRServerInput,
): Promise<RunningRServer> {
  const { options } = input;
  const exited = new AbortController();
  void rserver.exited.then(() => exited.abort());
  const ready = await waitForHttp(rserver.socketPath, {
    timeout: options.timeout,
    signal: AbortSignal.any([exited.signal, ...(input.signal ? [input.signal] : [])]),
  });
  const exitStatus: ExitStatus | undefined = rserver.exitStatus;
  if (ready && exitStatus === undefined) {
    rserver.markReady();
    const seconds = ((Date.now() - rserver.startedAt.getTime()) / 1000).toFixed(1);
    options.logger?.({
      level: 'info',
      source: 'rsession-proxy',
      message: `rserver ready (pid ${rserver.pid}) in ${seconds} s`,
    });
    return rserver;
  }
  const pid = rserver.locate();
  if (exitStatus === undefined) {
    await rserver.stop();
    throwIfAborted(input.signal);
    throw createTimeoutError(pid, rserver.socketPath, options.timeout, rserver.stderrTail);
  }
  await rserver.exited;
  await rserver.stop();
  throw createExitedError(pid, exitStatus, rserver.stderrTail);
}
