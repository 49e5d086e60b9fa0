import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { RSessionProxyError } from '../errors.js';

const INSTANCE_NAME = /^[A-Za-z0-9._-]{1,32}$/;

/** The longest instance name: the layout is sized so that every such name fits (layout.ts). */
export const INSTANCE_NAME_MAX = 32;

// Instance names become directory names: a closed alphabet keeps them from escaping the base.
export function validateInstanceName(name: string): string {
  if (!INSTANCE_NAME.test(name) || name === '.' || name === '..') {
    throw new RSessionProxyError(
      'EINVALIDOPTION',
      `Expected the instance name to be 1-32 characters of A-Z a-z 0-9 . _ - (not "." or ".."), got ${JSON.stringify(name)}.`,
    );
  }
  return name;
}

// An instance bound to a socket someone else chose (jupyter-server-proxy's {unix_socket}) is
// named by a short hash of the socket's real path: the same socket always means the same
// instance (and lock), and rserver's own sockets stay short whatever the given path.
export function getSocketInstanceName(socketPath: string): string {
  let real = socketPath;
  try {
    real = join(realpathSync(dirname(socketPath)), basename(socketPath));
  } catch {
    // the directory does not exist yet: it is created private, and the path is already real
  }
  return `s-${createHash('sha256').update(real).digest('hex').slice(0, 12)}`;
}
