import { INSTANCE_MARKER } from '../instance/marker.js';
import { assertSocketSupport } from './usable.js';

/** Where rserver listens: its own Unix socket (2024.12.0 and later), or a TCP port. */
export type RServerListen = { socketPath: string } | { address: string; port: number };

export interface RServerArgsInput {
  listen: RServerListen;
  /**
   * The sign-in helper that checks the launch's password (--auth-none=0); undefined lets
   * rserver sign in $USER by itself (--auth-none=1), for a socket only the user can reach.
   */
  signInHelper?: string | undefined;
  /** The user's uid: rserver refuses a sign-in below --auth-minimum-user-id (1000 by default). */
  uid: number;
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
  'auth-pam-helper-path',
  'auth-encrypt-password',
  'server-user',
  'server-daemonize',
  'server-data-dir',
  'www-root-path',
  'database-config-file',
  'secure-cookie-key-file',
] as const;

// Where rserver listens: --www-socket, or --www-address and --www-port (every release has them).
function buildListenArgs(listen: RServerListen, supported: ReadonlySet<string>): string[] {
  if (!('socketPath' in listen))
    return [`--www-address=${listen.address}`, `--www-port=${listen.port}`];
  assertSocketSupport(supported);
  return [`--www-socket=${listen.socketPath}`];
}

// How rserver signs users in: by itself as $USER, or with the sign-in form checked by the helper
// against the launch's password, sent as it was typed (no RSA encryption, which only rserver's
// own page script does), a uid below 1000 allowed for this user (the default refuses it).
// --auth-none and --auth-pam-helper-path are in every release, and newer ones leave the latter
// out of --help: neither is looked for there.
function buildAuthArgs(input: RServerArgsInput, supported: ReadonlySet<string>): string[] {
  if (input.signInHelper === undefined) return ['--auth-none=1'];
  const args = ['--auth-none=0', `--auth-pam-helper-path=${input.signInHelper}`];
  if (supported.has('auth-encrypt-password')) args.push('--auth-encrypt-password=0');
  if (supported.has('auth-minimum-user-id')) args.push(`--auth-minimum-user-id=${input.uid}`);
  return args;
}

// The rserver command line for a user-mode launch, as jupyter-rsession-proxy builds it plus what
// it misses; optional flags only when this rserver's --help lists them.
export function buildRServerArgs(
  input: RServerArgsInput,
  supported: ReadonlySet<string>,
): string[] {
  const args = [
    ...buildListenArgs(input.listen, supported),
    ...buildAuthArgs(input, supported),
    `--server-user=${input.user}`,
  ];
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
// makes rserver say why it failed (it is silent otherwise); the marker finds leftovers later;
// RSTUDIO_CONFIG_DIR, when given, sends rserver and its sessions to a private configuration
// directory (config-dir.ts).
export function buildRServerEnv(
  parent: NodeJS.ProcessEnv,
  { user, marker, configDir }: { user: string; marker: string; configDir?: string | undefined },
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...parent, USER: user, RS_LOGGER_TYPE: 'stderr' };
  env[INSTANCE_MARKER] = marker;
  if (configDir !== undefined) env.RSTUDIO_CONFIG_DIR = configDir;
  // The serve token is the proxy's secret, not something R code needs to see.
  delete env.RSESSION_PROXY_TOKEN;
  return env;
}
