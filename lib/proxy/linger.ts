import type { Duplex } from 'node:stream';

// After its end() a connection waits for the peer to close its side, so that what was written
// is read rather than cut by a reset; a peer that never closes is destroyed after `lingerMs`.
export function lingerAfterEnd(stream: Duplex, lingerMs = 5000): void {
  if (stream.destroyed) return;
  const timer = setTimeout(() => stream.destroy(), lingerMs);
  timer.unref();
  stream.once('close', () => clearTimeout(timer));
}
