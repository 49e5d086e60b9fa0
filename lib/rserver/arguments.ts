import { INSTANCE_MARKER } from '../instance/marker.js';
import { assertSocketSupport } from './usable.js';

export interface RServerArgsInput {
  socketPath: string;
  rootPath: string;
  user: string;
  dataDir: string;
  databaseConfigFile: string;
  cookieKeyFile: string;
  frameOrigin: string;
  r?: string | undefined;
  threadPoolSize?: number | undefined;
  extraArgs?: readonly string[] | undefined;
}

/**
 * Options the launcher sets itself; extra arguments may not override them, because each one is
 * part of the isolation promise (the socket, the user, the data directory…) and rserver would
 * fail anyway on an option given twice.
 */
export const MANAGED_OPTIONS = [
  'www-socket',
  'www-port',
  'www-address',
  'auth-none',
  'server-user',
  'server-daemonize',
  'server-data-dir',
  'www-root-path',
  'database-config-file',
  'secure-cookie-key-file',
] as const;

// The rserver command line for a user-mode launch on a private socket, as jupyter-rsession-proxy
// builds it plus what it misses; optional flags only when this rserver's --help lists them.
export function buildRServerArgs(
  input: RServerArgsInput,
  supported: ReadonlySet<string>,
): string[] {
  assertSocketSupport(supported);
  const args = [`--www-socket=${input.socketPath}`, '--auth-none=1', `--server-user=${input.user}`];
  const optional: [string, string | number | undefined][] = [
    ['server-daemonize', 0],
    ['www-verify-user-agent', 0],
    ['www-frame-origin', input.frameOrigin],
    ['www-root-path', input.rootPath],
    ['server-data-dir', input.dataDir],
    ['database-config-file', input.databaseConfigFile],
    ['secure-cookie-key-file', input.cookieKeyFile],
    ['rsession-which-r', input.r],
    ['www-thread-pool-size', input.threadPoolSize],
  ];
  for (const [name, value] of optional) {
    if (value !== undefined && supported.has(name)) args.push(`--${name}=${value}`);
  }
  return [...args, ...(input.extraArgs ?? [])];
}

// rserver's environment: the parent's, plus what a user-mode launch needs. USER names the user
// auth-none signs in (without it the browser loops through redirects); RS_LOGGER_TYPE=stderr
// makes rserver say why it failed (it is silent otherwise); the marker finds leftovers later.
export function buildRServerEnv(
  parent: NodeJS.ProcessEnv,
  { user, marker }: { user: string; marker: string },
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...parent, USER: user, RS_LOGGER_TYPE: 'stderr' };
  env[INSTANCE_MARKER] = marker;
  // The serve token is the proxy's secret, not something R code needs to see.
  delete env.RSESSION_PROXY_TOKEN;
  return env;
}
