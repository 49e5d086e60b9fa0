import { RSessionProxyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { normalizePrefix } from '../url-prefix.js';
import type { SupervisorOptions } from '../rserver/supervisor.js';
import type { ListenSpec } from './listen.js';
import { readSetting } from '../environment.js';
import { hasControlCharacters } from '../validate.js';
import { validateAllowHost } from './host-guard.js';
import type { ServedBackendFactory } from './served-backend.js';
import { generateToken, validateToken } from './token.js';

export interface ServeOptions extends Omit<SupervisorOptions, 'rootPath' | 'socketPath'> {
  /** Default: RSESSION_PROXY_LISTEN, else `{ path: '<instance dir>/proxy.sock' }`, a private Unix socket. */
  listen?: ListenSpec | undefined;
  /** Where RStudio appears, e.g. `/rstudio/`; default RSESSION_PROXY_PREFIX, else `/`. */
  prefix?: string | undefined;
  /**
   * rserver's root path when a proxy in front removes its own prefix before serve sees the
   * request (jupyter-server-proxy): the path the browser sees, e.g. `/user/alice/rstudio/`. Only
   * with `prefix` `/`. A request that still carries it is answered with a page saying that the
   * proxy in front must strip it. Default: the prefix.
   */
  rootPath?: string | undefined;
  /**
   * The access token; `false` for none (Unix listener only). Default: the token of `tokenFile`,
   * RSESSION_PROXY_TOKEN, RSESSION_PROXY_TOKEN_FILE, else a new random one.
   */
  token?: string | false | undefined;
  /** A file of the user's, mode 0600, holding the token (read when serve starts). */
  tokenFile?: string | undefined;
  /** Host names accepted besides localhost, 127.0.0.1 and [::1]; default RSESSION_PROXY_ALLOW_HOSTS. */
  allowHosts?: readonly string[] | undefined;
  /**
   * `false`: accept any Host (no DNS-rebinding guard), for a Unix listener that only a proxy
   * in front reaches, which checks hosts itself. Default true.
   */
  hostCheck?: boolean | undefined;
  /**
   * Believe the X-Forwarded-Proto/-Host (else Forwarded) that the proxy nearest to serve adds,
   * the last value of each list (a TLS front you run, or the proxy in front of exec): Locations,
   * the Origin check and the cookies' `Secure` then follow the browser's scheme and host.
   * Default false.
   */
  trustProxy?: boolean | undefined;
  /**
   * Stop rserver after this many ms without traffic (it starts again on the next request);
   * default RSESSION_PROXY_IDLE_TIMEOUT (minutes), else never.
   */
  idleTimeout?: number | undefined;
  /** A request's headers must arrive within this many ms. Default 60 000. */
  headersTimeout?: number | undefined;
  /** A connection that has carried no authenticated request is closed after this many ms. Default 30 000. */
  unauthenticatedTimeout?: number | undefined;
  /** At most this many such connections; the oldest makes room for a new one. Default 1024. */
  maxUnauthenticated?: number | undefined;
  logger?: Logger | undefined;
  /**
   * What runs rserver, made from the launcher options above (their `rootPath` is the prefix):
   * default a Supervisor on this host; `createSlurmBackend` runs it in a Slurm job.
   */
  backend?: ServedBackendFactory | undefined;
}

/** Where the token comes from: given (or made up), a file to read at start, or nowhere. */
export type TokenSource =
  { from: 'value'; token: string } | { from: 'file'; path: string } | { from: 'none' };

export interface NormalizedServeOptions {
  /** For the supervisor: rserver's root path is the prefix, or `rootPath`. */
  supervisor: SupervisorOptions;
  backend: ServedBackendFactory | undefined;
  listen: ListenSpec | undefined;
  /** With a leading and a trailing slash. */
  prefix: string;
  /** A prefix a proxy in front should have removed (`rootPath` when it differs from the prefix). */
  strippedPrefix: string | undefined;
  token: TokenSource;
  allowHosts: readonly string[];
  hostCheck: boolean;
  trustProxy: boolean;
  /** What the status record says this is: `serve`, or `exec` (serveExec). */
  kind: 'serve' | 'exec';
  /**
   * A path whose GET is answered at once while rserver is not running, rather than made to
   * wait for it: jupyter-server-proxy's readiness probe gives each try 1 s (serveExec: `/`).
   */
  probePath: string | undefined;
  /**
   * Find and probe rserver before anything listens, so that serve fails at once when it cannot
   * run it (only when serve runs rserver itself). serveExec does not: it stays up and tells
   * every request why, since an exit would become jupyter-server-proxy's restart loop.
   */
  checkRServer: boolean;
  idleTimeout: number;
  headersTimeout: number;
  unauthenticatedTimeout: number;
  maxUnauthenticated: number;
  logger: Logger | undefined;
}

const MAX_TIMEOUT = 2 ** 31 - 1;

// Every default of serve() in one place, each value checked once with a message naming it:
// options first, then the environment (environment.ts); the launcher's own options are the
// supervisor's to check.
export function normalizeServeOptions(options: ServeOptions = {}): NormalizedServeOptions {
  const {
    listen: givenListen,
    prefix: givenPrefix,
    rootPath,
    token,
    tokenFile,
    allowHosts: givenAllowHosts,
    hostCheck = true,
    trustProxy = false,
    idleTimeout: givenIdleTimeout,
    headersTimeout = 60_000,
    unauthenticatedTimeout = 30_000,
    maxUnauthenticated = 1024,
    logger,
    backend,
    ...launch
  } = { ...options };
  const env = launch.env ?? process.env;
  const listen = givenListen ?? readSetting(env, 'listen')?.value;
  const prefix = `${normalizePrefix(givenPrefix ?? readSetting(env, 'prefix')?.value ?? '/')}/`;
  const strippedPrefix = resolveRootPath(rootPath, prefix);
  if (backend !== undefined && typeof backend !== 'function') {
    throw new RSessionProxyError(
      'EINVALIDOPTION',
      `Expected the \`backend\` option to be a function that makes the backend, got ${describe(backend)}.`,
    );
  }
  return {
    supervisor: { ...launch, logger, rootPath: strippedPrefix ?? prefix },
    backend,
    listen,
    prefix,
    strippedPrefix,
    token: resolveTokenSource(token, tokenFile, listen, env),
    allowHosts: validateAllowHosts(givenAllowHosts ?? readSetting(env, 'allowHosts')?.value ?? []),
    hostCheck: validateUnixOnlyFalse(hostCheck, 'hostCheck', listen),
    trustProxy: validateBoolean(trustProxy, 'trustProxy'),
    kind: 'serve',
    probePath: undefined,
    checkRServer: true,
    idleTimeout: validateInteger(
      givenIdleTimeout ?? readSetting(env, 'idleTimeout')?.value ?? 0,
      'idleTimeout',
      0,
      MAX_TIMEOUT,
    ),
    headersTimeout: validateInteger(headersTimeout, 'headersTimeout', 1, MAX_TIMEOUT),
    unauthenticatedTimeout: validateInteger(
      unauthenticatedTimeout,
      'unauthenticatedTimeout',
      1,
      MAX_TIMEOUT,
    ),
    maxUnauthenticated: validateInteger(maxUnauthenticated, 'maxUnauthenticated', 1, 1_000_000),
    logger,
  };
}

// rserver's root path differs from the prefix only behind a proxy that strips what serve's
// prefix would be: the adapter tells rserver its root path from the prefix (X-RStudio-Root-Path)
// whenever there is one, so both cannot be set.
function resolveRootPath(rootPath: unknown, prefix: string): string | undefined {
  if (rootPath === undefined) return undefined;
  if (typeof rootPath !== 'string') {
    throw new RSessionProxyError(
      'EINVALIDOPTION',
      `Expected the \`rootPath\` option to be a URL path such as "/user/alice/rstudio/", got ${describe(rootPath)}.`,
    );
  }
  const normalized = normalizePrefix(rootPath, 'rootPath');
  if (normalized === '') return undefined;
  if (prefix !== '/') {
    throw new RSessionProxyError(
      'EINVALIDOPTION',
      'The `rootPath` and `prefix` options cannot be combined: `rootPath` is for a proxy in front that strips its prefix, and then serve routes at `/`.',
    );
  }
  return `${normalized}/`;
}

// A safeguard turned off (`false`) is only for a Unix listener: every user on the host can
// connect to a port.
function validateUnixOnlyFalse(
  value: unknown,
  name: string,
  listen: ListenSpec | undefined,
): boolean {
  const on = validateBoolean(value, name);
  if (!on && listen !== undefined && !('path' in listen)) {
    throw new RSessionProxyError(
      'EINVALIDOPTION',
      `\`${name}: false\` is only allowed with a Unix listener: every user on the host can connect to a TCP port.`,
    );
  }
  return on;
}

function validateBoolean(value: unknown, name: string): boolean {
  if (typeof value === 'boolean') return value;
  throw new RSessionProxyError(
    'EINVALIDOPTION',
    `Expected the \`${name}\` option to be a boolean, got ${describe(value)}.`,
  );
}

// One source of the token: the options' (`token`, `tokenFile`, `token: false`), else the
// environment's (RSESSION_PROXY_TOKEN or RSESSION_PROXY_TOKEN_FILE), else a new one. `false`
// asks for no token, which only a Unix listener may do (the default one is).
function resolveTokenSource(
  token: unknown,
  tokenFile: unknown,
  listen: ListenSpec | undefined,
  env: NodeJS.ProcessEnv,
): TokenSource {
  if (token !== undefined && tokenFile !== undefined) {
    throw new RSessionProxyError(
      'EINVALIDOPTION',
      'Give the token one way: the `token` and `tokenFile` options (--token, --no-token, --token-file) cannot be combined.',
    );
  }
  if (token === false) {
    if (listen !== undefined && !('path' in listen)) {
      throw new RSessionProxyError(
        'EINVALIDOPTION',
        'No token (--no-token, `token: false`) is only allowed with a Unix socket listener: every user on the host can connect to a TCP port.',
        { hint: 'Drop --no-token, or listen on a Unix socket (--listen=unix:/path).' },
      );
    }
    return { from: 'none' };
  }
  if (token !== undefined)
    return { from: 'value', token: validateToken(token, 'the `token` option') };
  if (tokenFile !== undefined) return { from: 'file', path: validateTokenFile(tokenFile) };
  const fromEnv = readSetting(env, 'token');
  const fileFromEnv = readSetting(env, 'tokenFile');
  if (fromEnv !== undefined && fileFromEnv !== undefined) {
    throw new RSessionProxyError(
      'EINVALIDOPTION',
      `${fromEnv.variable} and ${fileFromEnv.variable} are both set: unset one of them.`,
    );
  }
  if (fromEnv !== undefined) return { from: 'value', token: fromEnv.value };
  if (fileFromEnv !== undefined) return { from: 'file', path: fileFromEnv.value };
  return { from: 'value', token: generateToken() };
}

function validateTokenFile(path: unknown): string {
  if (typeof path === 'string' && path.trim() !== '' && !hasControlCharacters(path)) return path;
  throw new RSessionProxyError(
    'EINVALIDOPTION',
    `Expected the \`tokenFile\` option to be a file path, got ${describe(path)}.`,
  );
}

function validateAllowHosts(hosts: unknown): readonly string[] {
  if (!Array.isArray(hosts)) {
    throw new RSessionProxyError(
      'EINVALIDOPTION',
      `Expected the \`allowHosts\` option to be an array of host names, got ${describe(hosts)}.`,
    );
  }
  return hosts.map((host: unknown) => validateAllowHost(host, 'each of `allowHosts`'));
}

function validateInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) {
    return value;
  }
  throw new RSessionProxyError(
    'EINVALIDOPTION',
    `Expected the \`${name}\` option to be an integer from ${min} to ${max}, got ${describe(value)}.`,
  );
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
