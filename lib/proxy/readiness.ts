import type { Backend, BackendEndpoint } from '../backend.js';
import { RSessionProxyError } from '../errors.js';
import { getGoneSignal, type Exchange } from './exchange.js';

// Where to send an exchange. A running backend answers at once (its ensureRunning() resolves
// without waiting), which is every request but those during a start: they are spared the timer
// and the abort wiring of waitForBackend. One that stopped meanwhile gets the full wait, which
// starts it again or says why it cannot.
export function getBackendEndpoint(
  backend: Backend,
  timeoutMs: number,
  exchange: Exchange,
): Promise<BackendEndpoint> {
  const wait = () => waitForBackend(backend, timeoutMs, getGoneSignal(exchange));
  return backend.state === 'running' ? backend.ensureRunning().then(undefined, wait) : wait();
}

// Starts rserver if needed and waits until it answers, at most `timeoutMs`, or until `gone`
// aborts (the client left). The wait is ours even if the backend ignores the signal: a start
// that outlives it goes on for the next request, but this one is answered.
export async function waitForBackend(
  backend: Backend,
  timeoutMs: number,
  gone: AbortSignal,
): Promise<BackendEndpoint> {
  const controller = new AbortController();
  const timedOut = new Error(`not ready within ${timeoutMs} ms`);
  const timer = setTimeout(() => controller.abort(timedOut), timeoutMs);
  timer.unref();
  const onGone = () => controller.abort();
  gone.addEventListener('abort', onGone, { once: true });
  if (gone.aborted) controller.abort();
  const stopped = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(new Error('stopped waiting')), {
      once: true,
    });
  });
  try {
    return await Promise.race([backend.ensureRunning({ signal: controller.signal }), stopped]);
  } catch (error) {
    if (controller.signal.reason === timedOut) {
      const why = backend.lastError ? `: ${backend.lastError.message}` : '.';
      throw new RSessionProxyError(
        'EUNAVAILABLE',
        `RStudio did not become ready within ${formatSeconds(timeoutMs)}${why}`,
        { cause: backend.lastError },
      );
    }
    if (gone.aborted) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new RSessionProxyError('EUNAVAILABLE', `RStudio could not be started: ${message}`, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
    gone.removeEventListener('abort', onGone);
  }
}

export function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

// A backend between runs: a request that fails now is worth retrying shortly (503, not 502).
export function isRestarting(backend: Backend): boolean {
  return backend.state === 'starting' || backend.state === 'stopping';
}
