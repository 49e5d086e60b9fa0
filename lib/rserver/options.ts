import { resolve } from 'node:path';
import { RSessionProxyError } from '../errors.js';
import {
  normalizeInstanceOptions,
  type InstanceOptions,
  type InstanceSpec,
} from '../instance/options.js';
import type { Logger } from '../logger.js';
import { normalizeRootPath } from '../url-prefix.js';
import { hasControlCharacters } from '../validate.js';
import { readSetting } from '../environment.js';
import { MANAGED_OPTIONS } from './arguments.js';
import { validateFrameOrigin } from './frame-origin.js';
import { validateIsolationOption, type IsolationOption } from './isolation.js';

/**
 * How to launch rserver. `instance`, `socketPath`, `runtimeDir` and `ephemeral` choose the
 * instance (instance/options.ts): `socketPath` makes rserver listen on a socket someone else
 * chose (jupyter-server-proxy's `{unix_socket}`) instead of `<instance dir>/rserver.sock`; its
 * directory must be private, and is created 0700 when missing.
 */
export interface LaunchOptions extends InstanceOptions {
  /** The path prefix a proxy adds (`--www-root-path`); default `/`. */
  rootPath?: string | undefined;
  /** The rserver binary; default: RSESSION_PROXY_RSERVER, PATH, the install paths. */
  rserver?: string | undefined;
  /** The R executable; default: RSESSION_PROXY_R, RSTUDIO_WHICH_R, then R on PATH. */
  r?: string | undefined;
  /** `--www-frame-origin`: none, same, any or an origin; default JUPYTER_RSESSION_PROXY_WWW_FRAME_ORIGIN, else `same`. */
  frameOrigin?: string | undefined;
  /** `--www-thread-pool-size`; default JUPYTER_RSESSION_PROXY_THREAD_POOL_SIZE, else rserver's own. */
  threadPoolSize?: number | undefined;
  /** How long to wait for rserver to answer, in ms; default RSESSION_PROXY_TIMEOUT or RSERVER_TIMEOUT (seconds), else 30 000. */
  timeout?: number | undefined;
  /** How long rserver gets after SIGTERM before SIGKILL, in ms; default 5 000. */
  stopTimeout?: number | undefined;
  /**
   * What keeps other users away from rserver (docs/security.md): `socket`, `namespace`,
   * `password`, or `auto` (default; RSESSION_PROXY_ISOLATION) for the strongest this rserver and
   * host allow. A level that cannot be had is refused (EISOLATION), never weakened.
   */
  isolation?: IsolationOption | undefined;
  /** Passed to rserver after the launcher's own options. */
  extraArgs?: readonly string[] | undefined;
  /** The environment rserver inherits and the knobs are read from; default process.env. */
  env?: NodeJS.ProcessEnv | undefined;
  /** Receives rserver's log lines and the launcher's own messages. */
  logger?: Logger | undefined;
}

export interface NormalizedLaunchOptions {
  instance: InstanceSpec;
  rootPath: string;
  rserver: string | undefined;
  r: string | undefined;
  frameOrigin: string;
  threadPoolSize: number | undefined;
  timeout: number;
  stopTimeout: number;
  isolation: IsolationOption;
  extraArgs: readonly string[];
  env: NodeJS.ProcessEnv;
  logger: Logger | undefined;
}

function invalid(name: string, expected: string, value: unknown): RSessionProxyError {
  return new RSessionProxyError(
    'EINVALIDOPTION',
    `Expected the \`${name}\` option to be ${expected}, got ${JSON.stringify(value)}.`,
  );
}

function validatePath(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '' || hasControlCharacters(value)) throw invalid(name, 'a file path', value);
  return value;
}

function validatePositiveInteger(
  name: string,
  value: number | undefined,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw invalid(name, `an integer from 1 to ${max}`, value);
  }
  return value;
}

function validateDuration(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw invalid(name, 'a positive number of milliseconds', value);
  return value;
}

function validateExtraArgs(args: readonly string[]): readonly string[] {
  for (const arg of args) {
    if (typeof arg !== 'string' || arg.includes('\0')) throw invalid('extraArgs', 'strings', arg);
    const name = /^--([a-z0-9-]+)/.exec(arg)?.[1];
    if (name && (MANAGED_OPTIONS as readonly string[]).includes(name)) {
      throw new RSessionProxyError(
        'EINVALIDOPTION',
        `The extra rserver argument ${arg} would override --${name}, which rsession-proxy sets itself to keep RStudio private.`,
        {
          hint: 'Remove it; use the corresponding rsession-proxy option where there is one (--socket, --root-path).',
        },
      );
    }
  }
  return args;
}

// Reads every default and environment variable once (environment.ts; jupyter-rsession-proxy's
// names keep working), and validates each option beside the feature it serves. rserver's path
// is left to findRServer, which names the variable it came from.
export function normalizeLaunchOptions(options: LaunchOptions = {}): NormalizedLaunchOptions {
  const env = options.env ?? process.env;
  // rserver runs in --server-working-dir (/): a relative R path would name another file there.
  const absolute = (path: string | undefined) => (path === undefined ? undefined : resolve(path));
  return {
    instance: normalizeInstanceOptions({ ...options, env }),
    rootPath: normalizeRootPath(options.rootPath ?? '/'),
    rserver: validatePath('rserver', options.rserver),
    r: absolute(validatePath('r', options.r ?? readSetting(env, 'r')?.value)),
    frameOrigin: validateFrameOrigin(
      options.frameOrigin ?? readSetting(env, 'frameOrigin')?.value ?? 'same',
    ),
    threadPoolSize: validatePositiveInteger(
      'threadPoolSize',
      options.threadPoolSize ?? readSetting(env, 'threadPoolSize')?.value,
      1024,
    ),
    timeout: validateDuration(
      'timeout',
      options.timeout ?? readSetting(env, 'timeout')?.value ?? 30_000,
    ),
    stopTimeout: validateDuration('stopTimeout', options.stopTimeout ?? 5000),
    isolation: validateIsolationOption(
      options.isolation ?? readSetting(env, 'isolation')?.value ?? 'auto',
    ),
    extraArgs: validateExtraArgs(options.extraArgs ?? []),
    env,
    logger: options.logger,
  };
}
