import { resolve } from 'node:path';
import { readSetting } from '../environment.js';
import { RSessionProxyError } from '../errors.js';
import { hasControlCharacters } from '../validate.js';
import { getSocketInstanceName, validateInstanceName } from './name.js';

/** Which instance, and where its private directories live. */
export interface InstanceOptions {
  /**
   * Instance name, 1-32 of [A-Za-z0-9._-]; default one derived from `socketPath`, else
   * RSESSION_PROXY_INSTANCE, else `default`.
   */
  instance?: string | undefined;
  /**
   * A socket someone else chose for this instance (jupyter-server-proxy's `{unix_socket}`): its
   * directory must be private. Without `instance`, the instance is named after it (`s-<hash>`),
   * so the same socket always means the same instance and lock.
   */
  socketPath?: string | undefined;
  /** Base of the private runtime directories (see docs/security.md); default RSESSION_PROXY_RUNTIME_DIR, then the first safe of XDG_RUNTIME_DIR, TMPDIR, /tmp. */
  runtimeDir?: string | undefined;
  /**
   * Remove the instance's directory when it closes. Default: true for an instance named after a
   * socket path (a new one per jupyter-server-proxy start, which would pile up), else false.
   */
  ephemeral?: boolean | undefined;
  /** The environment the variables (docs/cli.md#environment) are read from; default process.env. */
  env?: NodeJS.ProcessEnv | undefined;
}

export interface InstanceSpec {
  name: string;
  ephemeral: boolean;
  /** Absolute. */
  socketPath: string | undefined;
  runtimeDir: string | undefined;
  env: NodeJS.ProcessEnv;
}

// Validates the instance options once: every later step trusts the spec. RSESSION_PROXY_INSTANCE
// names the instance only when no socket is given: an instance bound to a socket someone else
// chose (jupyter-server-proxy's) must not be taken over by a name meant for the user's serve.
export function normalizeInstanceOptions(options: InstanceOptions = {}): InstanceSpec {
  const env = options.env ?? process.env;
  const socketPath =
    options.socketPath === undefined ? undefined : resolve(validateSocketPath(options.socketPath));
  const name =
    options.instance !== undefined
      ? validateInstanceName(options.instance)
      : socketPath !== undefined
        ? getSocketInstanceName(socketPath)
        : (readSetting(env, 'instance')?.value ?? 'default');
  if (options.ephemeral !== undefined && typeof options.ephemeral !== 'boolean') {
    throw invalid('ephemeral', 'a boolean', options.ephemeral);
  }
  return {
    name,
    ephemeral: options.ephemeral ?? (options.instance === undefined && socketPath !== undefined),
    socketPath,
    runtimeDir: options.runtimeDir,
    env,
  };
}

function validateSocketPath(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || hasControlCharacters(value)) {
    throw invalid('socketPath', 'a file path', value);
  }
  return value;
}

function invalid(name: string, expected: string, value: unknown): RSessionProxyError {
  return new RSessionProxyError(
    'EINVALIDOPTION',
    `Expected the \`${name}\` option to be ${expected}, got ${JSON.stringify(value)}.`,
  );
}
