import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

// One attempt: connect to the socket and send `GET /`; any HTTP status line means rserver is
// serving (a redirect to the sign-in page is the usual answer). Resolves false on any failure.
export function probeHttp(socketPath: string, timeout = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let received = '';
    const finish = (ready: boolean) => {
      socket.destroy();
      resolve(ready);
    };
    socket.setTimeout(timeout, () => finish(false));
    socket.on('connect', () =>
      socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
    );
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n')) finish(/^HTTP\/1\.[01] \d{3}/.test(received));
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}

export interface WaitForHttpOptions {
  /** Give up after this many ms (resolves false). */
  timeout: number;
  /** Stops waiting early: rserver exited, or the caller cancelled. */
  signal?: AbortSignal | undefined;
}

// Polls the socket with backoff (10 ms doubling to 50 ms) until rserver answers HTTP: readiness
// is decided by connecting, never by reading logs or sleeping a fixed time. A probe of a socket
// that is not there yet costs a failed connect(); a coarser backoff (it was 25 ms doubling to
// 500 ms) made the first request wait up to 500 ms more than rserver took (npm run bench).
export async function waitForHttp(
  socketPath: string,
  options: WaitForHttpOptions,
): Promise<boolean> {
  const deadline = Date.now() + options.timeout;
  for (let wait = 10; ; wait = Math.min(wait * 2, 50)) {
    if (options.signal?.aborted) return false;
    if (await probeHttp(socketPath, Math.max(1, Math.min(2000, deadline - Date.now()))))
      return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    try {
      await delay(Math.min(wait, left), undefined, { signal: options.signal });
    } catch {
      return false;
    }
  }
}
