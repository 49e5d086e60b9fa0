import { Socket } from 'node:net';
import { Duplex } from 'node:stream';

// node:http's client, its Agent and http-proxy treat a backend connection as a net.Socket: they
// set and clear its idle timeout around every request, keep it alive and unref it in the pool,
// and set no-delay on an upgraded one. A factory's connection (a job step's pipes, an ssh
// channel) may be any Duplex; it is given those methods here, the idle timeout for real.
export function asSocketLike(stream: Duplex): Duplex {
  return stream instanceof Socket ? stream : new FactoryConnection(stream);
}

class FactoryConnection extends Duplex {
  /** The idle timeout in ms, as net.Socket has it (the Agent reads it). */
  timeout = 0;
  /** As net.Socket counts them: what the adapter's activity and silence checks compare. */
  bytesRead = 0;
  bytesWritten = 0;
  readonly #inner: Duplex;
  #timer: NodeJS.Timeout | undefined;

  constructor(inner: Duplex) {
    super({ allowHalfOpen: false });
    this.#inner = inner;
    inner.on('data', (chunk: Buffer) => {
      this.#timer?.refresh();
      this.bytesRead += chunk.length;
      if (!this.push(chunk)) inner.pause();
    });
    inner.once('end', () => this.push(null));
    inner.once('error', (error) => this.destroy(error));
    inner.once('close', () => this.destroy());
  }

  override _read(): void {
    this.#inner.resume();
  }

  override _write(
    chunk: Buffer,
    encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.#timer?.refresh();
    this.bytesWritten += chunk.length;
    this.#inner.write(chunk, encoding, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#inner.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#timer);
    this.#inner.destroy(error ?? undefined);
    callback(error);
  }

  // Emits 'timeout' after `ms` without data either way, as net.Socket does; 0 turns it off.
  setTimeout(ms: number, onTimeout?: () => void): this {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.timeout = ms;
    if (onTimeout) this.once('timeout', onTimeout);
    if (ms > 0) {
      this.#timer = setTimeout(() => this.emit('timeout'), ms);
      this.#timer.unref();
    }
    return this;
  }

  // Keep-alive, no-delay and ref/unref mean something only for a real socket: passed on when
  // the factory's stream has them.
  setNoDelay(noDelay?: boolean): this {
    return this.#forward('setNoDelay', noDelay);
  }

  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    return this.#forward('setKeepAlive', enable, initialDelay);
  }

  ref(): this {
    return this.#forward('ref');
  }

  unref(): this {
    return this.#forward('unref');
  }

  #forward(method: string, ...args: unknown[]): this {
    const fn = (this.#inner as unknown as Record<string, unknown>)[method];
    if (typeof fn === 'function') (fn as (...a: unknown[]) => unknown).apply(this.#inner, args);
    return this;
  }
}
