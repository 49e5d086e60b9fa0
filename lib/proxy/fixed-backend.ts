import { EventEmitter } from 'node:events';
import { isAbsolute } from 'node:path';
import type { Backend, BackendState, SocketEndpoint } from '../backend.js';
import { RSessionProxyError } from '../errors.js';
import { assertSocketPathLength } from '../instance/socket-path.js';

// An rserver someone else runs on a known socket: always "running", and a dead socket shows up
// as a 502 when a request tries it.
class FixedBackend extends EventEmitter implements Backend {
  readonly state: BackendState = 'running';
  readonly lastError: Error | undefined = undefined;
  // One object for every call: the adapter's pool sees the same endpoint without comparing.
  readonly #endpoint: SocketEndpoint;

  constructor(socketPath: string) {
    super();
    this.#endpoint = Object.freeze({ socketPath });
  }

  ensureRunning(): Promise<SocketEndpoint> {
    return Promise.resolve(this.#endpoint);
  }
}

// Wraps a fixed socket path into the Backend the adapter talks to.
export function createFixedBackend(socketPath: string): Backend {
  if (!isAbsolute(socketPath) || socketPath.includes('\0')) {
    throw new RSessionProxyError(
      'EINVALIDOPTION',
      `Expected \`backend\` to be an absolute socket path, got ${JSON.stringify(socketPath)}.`,
    );
  }
  assertSocketPathLength(socketPath, 'rserver socket');
  return new FixedBackend(socketPath);
}
