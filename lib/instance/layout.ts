import { join } from 'node:path';
import { getCurrentUser } from '../users.js';
import type { InstanceSpec } from './options.js';
import { resolveRuntimeBase, type RuntimeBase } from './runtime-base.js';
import {
  assertDataDirSocketLength,
  assertSocketPathLength,
  fitsSocketPath,
  getDataDirSocketPath,
  getSessionSocketPath,
} from './socket-path.js';
import { getInstanceStateDir } from './state-dir.js';

/** Where one instance keeps what rserver needs; every directory in it is private. */
export interface InstanceLayout {
  name: string;
  /** The directory goes when the instance closes (an instance named after a given socket). */
  ephemeral: boolean;
  base: RuntimeBase;
  /** `<base>/<name>`: the private directory of run-time state; also what the lock is taken on. */
  dir: string;
  /** rserver's socket: the given one, or `<dir>/rserver.sock`. */
  socketPath: string;
  /** The socket was chosen by someone else (its directory is theirs to choose, and is checked). */
  socketGiven: boolean;
  /** serve's default listener. */
  listenerSocketPath: string;
  /** `--server-data-dir`: rserver chmods it 1777 and puts sockets of its own there. */
  dataDir: string;
  databaseDir: string;
  databaseConfigFile: string;
  /** What a running serve or exec says about itself (status.ts). */
  statusFile: string;
  /**
   * Kept across restarts so that browser sessions survive them: in the persistent per-user
   * state directory for a named instance, in `dir` for an ephemeral one.
   */
  cookieKeyFile: string;
}

// Short fixed names: rserver's sockets below the data directory leave it about 63 bytes of the
// 107 a socket path may have (RSERVER.md §7), and every instance name (32 characters) must fit.
function layoutUnder(base: RuntimeBase, spec: InstanceSpec): InstanceLayout {
  const dir = join(base.path, spec.name);
  return {
    name: spec.name,
    ephemeral: spec.ephemeral,
    base,
    dir,
    socketPath: spec.socketPath ?? join(dir, 'rserver.sock'),
    socketGiven: spec.socketPath !== undefined,
    listenerSocketPath: join(dir, 'proxy.sock'),
    dataDir: join(dir, 'd'),
    databaseDir: join(dir, 'db'),
    databaseConfigFile: join(dir, 'database.conf'),
    statusFile: join(dir, 'status.json'),
    cookieKeyFile: spec.ephemeral
      ? join(dir, 'secure-cookie-key')
      : join(getInstanceStateDir(spec.name), 'secure-cookie-key'),
  };
}

// Every socket path the instance will have, rserver's own included.
function getSocketPaths(layout: InstanceLayout, user: string): string[] {
  return [
    layout.socketPath,
    layout.listenerSocketPath,
    getDataDirSocketPath(layout.dataDir),
    getSessionSocketPath(layout.dataDir, user),
  ];
}

// Computes every path of an instance (one lstat walk per candidate base, no writes): the first
// safe base under which all of the instance's sockets fit (docs/security.md).
export function resolveInstanceLayout(spec: InstanceSpec): InstanceLayout {
  const user = getCurrentUser().name;
  // A socket given by someone else is as long as it is, wherever the base.
  const fits = (path: string) =>
    getSocketPaths(layoutUnder({ path, source: 'option', warnings: [] }, spec), user)
      .filter((socket) => socket.startsWith(`${path}/`))
      .every(fitsSocketPath);
  return layoutUnder(
    resolveRuntimeBase({ runtimeDir: spec.runtimeDir, env: spec.env }, fits),
    spec,
  );
}

// The sockets must fit in 107 bytes: Node 20 truncates a longer path silently and rserver fails
// late, so this is checked before anything is created.
export function assertLayoutFits(layout: InstanceLayout): void {
  assertSocketPathLength(layout.socketPath, 'rserver socket');
  assertDataDirSocketLength(layout.dataDir);
  assertSocketPathLength(
    getSessionSocketPath(layout.dataDir, getCurrentUser().name),
    'rsession socket',
  );
}
