import { Agent, type ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import { describeEndpoint, isSocketEndpoint, type BackendEndpoint } from '../backend.js';
import { asSocketLike } from './connection.js';
import { connectBackendSocket } from './socket-reads.js';

// One pool of keep-alive connections to rserver: without it every request pays for a new
// connection (1.6-1.9x fewer requests per second in a quick measurement on 2 cores). Pooled
// connections left idle for `idleMs` are closed by us first: a server closing an idle
// connection just as a request is sent on it makes that request fail, and 4 s is below the
// usual server keep-alive timeouts (Node's is 5 s). Busy connections are not affected.
//
// http-proxy's target is fixed; where a new connection goes is decided here, from the endpoint
// the backend last resolved to: a Unix socket, or a connection factory (a Slurm job step).
export class BackendAgent extends Agent {
  #endpoint: BackendEndpoint | undefined;

  constructor(idleMs = 4000) {
    super({ keepAlive: true, timeout: idleMs, scheduling: 'lifo' });
  }

  // Connections opened from now on go to `endpoint`. Pooled ones that lead elsewhere (rserver
  // came back on another socket or node) are closed rather than reused.
  useEndpoint(endpoint: BackendEndpoint): void {
    const previous = this.#endpoint;
    if (previous === endpoint) return;
    this.#endpoint = endpoint;
    if (previous !== undefined && !isSameEndpoint(previous, endpoint)) this.#closeIdle();
  }

  // Called by the Agent for every new connection, synchronously inside http.request. The idle
  // timeout is left to the pool, which sets it when a connection is first put back: one that
  // becomes a WebSocket never holds a timer.
  override createConnection(
    options: ClientRequestArgs,
    callback?: (error: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const endpoint = this.#endpoint;
    try {
      if (endpoint === undefined) throw new Error('no endpoint to connect to');
      if (isSocketEndpoint(endpoint)) {
        const socketOptions = { ...options, path: endpoint.socketPath, timeout: undefined };
        return connectBackendSocket(socketOptions);
      }
      return asSocketLike(endpoint.connect());
    } catch (error) {
      // The request fails with it, through its error callback, like a refused connection.
      callback?.(error instanceof Error ? error : new Error(String(error)), undefined as never);
      return undefined;
    }
  }

  #closeIdle(): void {
    for (const sockets of Object.values(this.freeSockets)) {
      for (const socket of sockets ?? []) socket.destroy();
    }
  }
}

function isSameEndpoint(a: BackendEndpoint, b: BackendEndpoint): boolean {
  return isSocketEndpoint(a) === isSocketEndpoint(b) && describeEndpoint(a) === describeEndpoint(b);
}
