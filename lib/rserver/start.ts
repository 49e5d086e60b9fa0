import { getRServerLineLevel } from '../logger.js';
import { listProcesses } from '../process-tree.js';
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
import type { Isolation } from './isolation.js';
import { LineTail } from './line-tail.js';
import type { NormalizedLaunchOptions } from './options.js';
import { prepareIsolation, type PreparedIsolation } from './prepare-isolation.js';
import type { RServerProbe } from './probe.js';
import { waitForHttp } from './readiness.js';
import { resolveIsolation } from './resolve-isolation.js';
import { RunningRServer, type Attachment, type RServerProcess } from './running.js';
import { buildSandboxedCommand } from './sandbox.js';
import { detectSandbox } from './sandbox-detect.js';
import { findNamespaceInit } from './sandbox-processes.js';
import { SignInAgent } from './sign-in-agent.js';
import { attachSlirp } from './slirp.js';
import { spawnRServer, type SpawnedProcess } from './spawn.js';
import { startTcpRelay } from './tcp-relay.js';
import { createPeerCheck, listenerUid } from './tcp-port.js';
import { startWatchdog } from './watchdog.js';
import { RSessionProxyError } from '../errors.js';
import type { Logger } from '../logger.js';

export interface StartRServerInput {
  options: NormalizedLaunchOptions;
  layout: InstanceLayout;
  probe: RServerProbe;
  signal?: AbortSignal | undefined;
  /** Runs after every stop, requested or not: removes sockets, releases what the caller holds. */
  afterStop?: (() => Promise<void>) | undefined;
}

// Stops what a start had attached, the last first.
async function stopAttachments(attachments: readonly Attachment[]): Promise<void> {
  for (const attachment of [...attachments].reverse()) {
    await attachment.stop().catch(() => undefined);
  }
}

// The namespace's first process, once unshare has forked it (within a second or two).
async function waitForNamespaceInit(leader: number): Promise<number | undefined> {
  const deadline = Date.now() + 2000;
  for (let wait = 2; Date.now() < deadline; wait = Math.min(wait * 2, 50)) {
    const init = findNamespaceInit(leader, listProcesses());
    if (init !== undefined) return init.pid;
    await new Promise((resolve) => setTimeout(resolve, wait).unref());
  }
  return undefined;
}

// Connects rserver's network namespace to the outside; R goes without a network, and the user is
// told so, when slirp4netns cannot.
async function connectOutside(
  spawned: SpawnedProcess,
  slirp4netns: string,
  isolation: Isolation,
  log: Logger | undefined,
  attachments: Attachment[],
): Promise<Isolation> {
  const init = await waitForNamespaceInit(spawned.pid);
  try {
    if (init === undefined) throw new Error("the namespace's first process was not found");
    const slirp = await attachSlirp(slirp4netns, init);
    attachments.push({ stop: () => slirp.stop() });
    return isolation;
  } catch (error) {
    const warning = `R will not reach the internet: ${error instanceof Error ? error.message : String(error)}.`;
    log?.({ level: 'warn', source: 'rsession-proxy', message: warning });
    return {
      ...isolation,
      outbound: false,
      description: isolation.description.replace(
        'R reaches the network through slirp4netns',
        'R has no network',
      ),
      warnings: [...isolation.warnings, warning],
    };
  }
}

// Starts rserver in the isolation this rserver and host allow (isolation.ts) and in the sandbox
// this host allows, and resolves once it answers HTTP on the instance's socket (its own, or the
// relay's). Rejects with ERSERVEREXITED (with the exit status, the stderr tail and a hint for
// known failures), ERSERVERTIMEOUT, EISOLATION or EABORTED, leaving no process, socket or
// password behind.
export async function startRServer(input: StartRServerInput): Promise<RServerProcess> {
  const { options, layout, probe } = input;
  const log = options.logger;
  const user = getCurrentUser();
  const resolved = await resolveIsolation(options.isolation, probe, options.env);
  const sandbox = await detectSandbox(options.env);
  await stopLeftovers(layout, options);
  throwIfAborted(input.signal);
  const r = findR(options);
  const prepared = await prepareIsolation({
    resolved,
    sandbox,
    layout,
    env: options.env,
    user,
    rserver: probe.path,
    r,
  });
  const attachments: Attachment[] = [{ stop: () => prepared.cleanup() }];
  let isolation = resolved.isolation;
  let rserver: RunningRServer;
  try {
    const args = buildRServerArgs(
      {
        listen: prepared.listen,
        signInHelper: prepared.signInHelper,
        uid: user.uid,
        rootPath: options.rootPath,
        user: user.name,
        dataDir: layout.dataDir,
        databaseConfigFile: layout.databaseConfigFile,
        cookieKeyFile: layout.cookieKeyFile,
        frameOrigin: options.frameOrigin,
        r,
        threadPoolSize: options.threadPoolSize,
        extraArgs: options.extraArgs,
      },
      probe.options,
    );
    const env = buildRServerEnv(options.env, {
      user: user.name,
      marker: layout.dir,
      configDir: prepared.configDir,
    });
    const grace = Math.min(options.stopTimeout, 2000);
    const sandboxed = { env, marker: INSTANCE_MARKER, grace, setup: prepared.setup };
    const command = buildSandboxedCommand(sandbox, [probe.path, ...args], sandboxed);
    logStart(log, probe, isolation, sandbox.description, prepared);
    log?.({
      level: 'debug',
      source: 'rsession-proxy',
      // The init and setup scripts are long and have many lines: sandbox.ts shows them.
      message: `starting ${[command.file, ...command.args].map((arg) => (arg.includes('\n') ? '<script>' : arg)).join(' ')}`,
    });
    if (prepared.hostPort !== undefined) {
      const relay = await startTcpRelay(layout.socketPath, prepared.hostPort, {
        checkPeer: createPeerCheck(prepared.hostPort, user.uid, log),
      });
      attachments.push({ stop: () => relay.close() });
    }
    // Under the watchdog it starts before rserver, so that no moment of rserver's run is
    // unwatched; in the namespace the kernel does its job.
    const watchdog =
      sandbox.kind === 'watchdog'
        ? await startWatchdog(getInstanceMarkers(layout), grace, env.PATH)
        : { release: () => undefined };
    attachments.push({ stop: () => Promise.resolve(watchdog.release()) });
    const tail = new LineTail(50);
    const spawned = await spawnRServer(command, (line) => {
      tail.push(line);
      log?.({ level: getRServerLineLevel(line), source: 'rserver', message: line });
    });
    const { slirp4netns } = resolved.namespaces;
    if (isolation.outbound && slirp4netns !== undefined) {
      isolation = await connectOutside(spawned, slirp4netns, isolation, log, attachments);
    }
    const agent =
      prepared.credentials === undefined
        ? undefined
        : new SignInAgent(layout.socketPath, prepared.credentials);
    rserver = new RunningRServer({
      spawned,
      sandbox,
      attachments,
      tail,
      socketPath: layout.socketPath,
      rootPath: options.rootPath,
      markers: getInstanceMarkers(layout),
      stopTimeout: options.stopTimeout,
      isolation,
      signIn: agent === undefined ? undefined : (request) => agent.signIn(request),
      afterStop: input.afterStop,
    });
  } catch (error) {
    await stopAttachments(attachments);
    throw error;
  }
  return waitUntilReady(rserver, input, prepared.hostPort);
}

// What is starting, in what isolation, and what the user must know about it.
function logStart(
  log: Logger | undefined,
  probe: RServerProbe,
  isolation: Isolation,
  sandbox: string,
  prepared: PreparedIsolation,
): void {
  const listen =
    'socketPath' in prepared.listen
      ? ''
      : ` on ${prepared.listen.address}:${prepared.listen.port}${prepared.hostPort === undefined ? ' in its network namespace' : ''}`;
  log?.({
    level: 'info',
    source: 'rsession-proxy',
    message: `starting rserver ${probe.path}${probe.version ? ` (${probe.version})` : ''}${listen}; isolation ${isolation.description}; ${sandbox}`,
  });
  for (const warning of isolation.warnings) {
    log?.({ level: 'warn', source: 'rsession-proxy', message: warning });
  }
  if (prepared.configDir !== undefined) {
    log?.({
      level: 'info',
      source: 'rsession-proxy',
      message: `RSTUDIO_CONFIG_DIR=${prepared.configDir}: a session-rpc-key of rserver's own beside the site's configuration (this release fails on a root-owned /var/lib/rstudio-server/session-rpc-key)`,
    });
  }
}

// Readiness is any HTTP answer on the socket; rserver's exit, the timeout or the caller's signal
// end the wait first. On a port of the host, the answer must come from the user's own process.
// Whatever ends it, a start that fails leaves nothing running.
async function waitUntilReady(
  rserver: RunningRServer,
  input: StartRServerInput,
  hostPort: number | undefined,
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
    const owner = hostPort === undefined ? undefined : await listenerUid(hostPort);
    if (hostPort !== undefined && owner !== getCurrentUser().uid) {
      await rserver.stop();
      throw new RSessionProxyError(
        'EISOLATION',
        `Something that is not yours (uid ${owner ?? 'unknown'}) answered on 127.0.0.1:${hostPort}, the port rserver was to listen on; rserver was stopped.`,
        {
          hint: 'Another user may be taking ports to catch your sign-in: try again (another port is chosen), and use --isolation=namespace where the host allows it.',
        },
      );
    }
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
