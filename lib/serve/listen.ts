import { chmod } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { RSessionProxyError, isRSessionProxyError } from '../errors.js';
import { ensurePrivateDir } from '../private-dir.js';
import { assertSocketPathLength, removeStaleSocket } from '../instance/socket-path.js';
import { hasControlCharacters } from '../validate.js';

const LISTEN_BACKLOG = 4096;

/** A Unix socket path, or a TCP host and port (port 0 picks a free one). */
export type ListenSpec = { path: string } | { host: string; port: number };

// `unix:/path/to.sock` or `host:port` (`[::1]:8787`, `127.0.0.1:0`, `localhost:8787`).
export function parseListenSpec(value: string): ListenSpec {
  if (value.startsWith('unix:')) {
    const path = value.slice('unix:'.length);
    const dotted = path.split('/').some((part) => part === '.' || part === '..');
    if (!path.startsWith('/') || dotted || hasControlCharacters(path)) {
      throw invalidListen(
        value,
        'a Unix socket needs an absolute path without . or .. parts: unix:/path/to/socket',
      );
    }
    return { path };
  }
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match?.[1] || port > 65_535) {
    throw invalidListen(value, 'expected unix:/path/to/socket or HOST:PORT (e.g. 127.0.0.1:8787)');
  }
  return { host: match[1].replace(/^\[|\]$/g, ''), port };
}

function invalidListen(value: string, why: string): RSessionProxyError {
  return new RSessionProxyError(
    'EINVALIDOPTION',
    `Invalid listener ${JSON.stringify(value)}: ${why}.`,
  );
}

export function formatListenSpec(spec: ListenSpec): string {
  if ('path' in spec) return `unix:${spec.path}`;
  return spec.host.includes(':') ? `[${spec.host}]:${spec.port}` : `${spec.host}:${spec.port}`;
}

const SOCKET_DIR_HINT =
  'Put the socket in a directory that is yours with mode 0700 (`chmod 700` it, or choose another) and whose parents only you and root can write to (exec --socket, serve --listen=unix:PATH).';

// A Unix listener's path fits in sun_path and its directory is private (created 0700 when
// missing: then true), or this throws saying why. The way out is another socket path, not
// --runtime-dir, which the private-directory check would suggest.
export async function prepareUnixListener(path: string): Promise<boolean> {
  assertSocketPathLength(path, 'listener socket');
  try {
    return await ensurePrivateDir(dirname(path));
  } catch (error) {
    if (!isRSessionProxyError(error, 'ENOTPRIVATE') || error.hint === undefined) throw error;
    const message = error.message.slice(0, -(error.hint.length + 1));
    throw new RSessionProxyError('ENOTPRIVATE', message, {
      path: error.path,
      hint: SOCKET_DIR_HINT,
      cause: error,
    });
  }
}

// Listens on a private Unix socket (its directory private, the socket 0600; a socket a crashed
// run left behind is replaced, anything else refused) or on TCP; resolves the real address.
export async function listen(server: Server, spec: ListenSpec): Promise<ListenSpec> {
  if ('path' in spec) {
    await prepareUnixListener(spec.path);
    await removeStaleSocket(spec.path);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    // A deep accept queue (Linux caps it at net.core.somaxconn): when a crowd fills Node's
    // default of 511, the kernel drops new connections, the owner's too, which then wait a
    // second for their retry.
    if ('path' in spec) server.listen({ path: spec.path, backlog: LISTEN_BACKLOG }, done);
    else server.listen({ port: spec.port, host: spec.host, backlog: LISTEN_BACKLOG }, done);
  });
  if ('path' in spec) {
    await chmod(spec.path, 0o600);
    return spec;
  }
  const address = server.address() as AddressInfo;
  return { host: spec.host, port: address.port };
}
