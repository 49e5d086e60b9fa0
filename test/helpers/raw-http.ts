// Raw bytes to an HTTP server, for requests no HTTP client would send: what came back before the
// server closed the connection (or the deadline), and whether it did close.
import { connect, type Socket } from 'node:net';
import type { HttpTarget } from './http-client.js';

export interface RawAnswer {
  /** Everything the server sent, as latin1 text. */
  text: string;
  /** The server closed the connection (or reset it) before the deadline. */
  closed: boolean;
  /** The connection could not be made: its error code. */
  error?: string | undefined;
}

// Connects, writes `bytes`, and collects the answer until the server closes or `timeout` ms pass.
export function sendRaw(
  target: HttpTarget,
  bytes: string | Buffer,
  timeout = 5000,
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket: Socket =
      'socketPath' in target ? connect(target.socketPath) : connect(target.port, target.host);
    let text = '';
    let connected = false;
    const finish = (closed: boolean, error?: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed, error });
    };
    const timer = setTimeout(() => finish(false), timeout);
    socket.on('connect', () => {
      connected = true;
      socket.write(bytes);
    });
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    // The server may answer and close while the request is still being written (431): what it
    // answered counts, not the reset that follows.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!connected) finish(false, error.code ?? error.message);
    });
    socket.on('close', () => finish(true));
  });
}

/** The status of every HTTP response in a raw answer. */
export function statusesOf(text: string): number[] {
  return [...text.matchAll(/^HTTP\/1\.[01] (\d{3})/gm)].map((m) => Number(m[1]));
}
