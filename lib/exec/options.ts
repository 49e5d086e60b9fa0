import { resolveInstanceLayout } from '../instance/layout.js';
import { normalizeInstanceOptions } from '../instance/options.js';
import type { SupervisorOptions } from '../rserver/supervisor.js';
import type { ListenSpec } from '../serve/listen.js';
import { normalizeServeOptions, type NormalizedServeOptions } from '../serve/options.js';

export interface ExecOptions extends Omit<
  SupervisorOptions,
  'instance' | 'socketPath' | 'ephemeral' | 'rootPath'
> {
  /**
   * The socket to serve RStudio on, chosen by the program in front (jupyter-server-proxy's
   * `{unix_socket}`). Its directory must be yours and private; it is created 0700 when missing.
   * The instance is named after it (`s-<hash>`), and its directory goes when exec stops.
   */
  socketPath: string;
  /**
   * The prefix the browser sees and the proxy in front removes (`{base_url}rstudio/`):
   * rserver's root path. Default `/`.
   */
  rootPath?: string | undefined;
}

/** exec in a Slurm job: the front listens on its instance's own socket (`<dir>/proxy.sock`). */
export interface JobExecOptions extends Omit<ExecOptions, 'socketPath'> {
  /** The job's instance (`slurm-<job id>`); its directory goes when exec stops. */
  instance: string;
}

// What serveExec is, as the front's options: serve's front on the socket it was given, routing
// without a prefix (the proxy in front removed it) while rserver's root path is the browser's,
// with no token and no host guard (only the user's own processes can reach the socket: its
// directory is private, and the proxy in front checks its clients), believing the forwarded
// headers of that nearest front (a TLS JupyterHub sets X-Forwarded-Proto), answering
// jupyter-server-proxy's readiness probe at once, writing an `exec` status record, and not
// refusing to start without a usable rserver (it tells every request why instead).
export function normalizeExecOptions(options: ExecOptions): {
  front: NormalizedServeOptions;
  socketPath: string;
} {
  const { socketPath, rootPath, ...launch } = { ...options };
  const spec = normalizeInstanceOptions({ socketPath, env: launch.env });
  const socket = spec.socketPath ?? socketPath;
  return {
    front: buildExecFront(launch, rootPath, spec.name, { path: socket }),
    socketPath: socket,
  };
}

// The same front for exec in a Slurm job, where the login side's adapter is the proxy in front
// (through job steps): on the instance's own listener socket, in its private directory, which
// the front listens on once it holds the instance (serve's default listener). It is named here
// so that RSESSION_PROXY_LISTEN, which the job inherits from the login side, is not read.
export function normalizeJobExecOptions(options: JobExecOptions): NormalizedServeOptions {
  const { instance, rootPath, ...launch } = { ...options };
  const spec = normalizeInstanceOptions({ ...launch, instance, ephemeral: true });
  const path = resolveInstanceLayout(spec).listenerSocketPath;
  return { ...buildExecFront(launch, rootPath, instance, { path }), listen: undefined };
}

// exec's front options, for an instance and where it listens (undefined: its proxy.sock).
function buildExecFront(
  launch: Omit<ExecOptions, 'socketPath' | 'rootPath'>,
  rootPath: string | undefined,
  instance: string,
  listen: ListenSpec | undefined,
): NormalizedServeOptions {
  return {
    ...normalizeServeOptions({
      ...launch,
      instance,
      ephemeral: true,
      listen,
      // Given, so that serve's own variables (RSESSION_PROXY_PREFIX, …_ALLOW_HOSTS,
      // …_IDLE_TIMEOUT) do not reach exec, which has no flags for them.
      prefix: '/',
      rootPath,
      token: false,
      allowHosts: [],
      hostCheck: false,
      trustProxy: true,
      idleTimeout: 0,
    }),
    kind: 'exec',
    probePath: '/',
    checkRServer: false,
  };
}
