import type { Exchange } from './exchange.js';
import { getProgress } from './progress.js';

/** The requests and handshakes waiting on rserver, and when rserver was last heard on each. */
export interface SilenceWatch {
  /** The request was just sent to rserver. */
  watch(exchange: Exchange): void;
  /** Nothing more to wait for: the answer is complete, the WebSocket upgraded, or it failed. */
  unwatch(exchange: Exchange): void;
  close(): void;
}

// A request rserver stays silent on for `ms` is given up on: `timedOut` is set and the request
// destroyed (its error callback then answers 504), within ms + ms/4. One timer for all of them
// rather than a socket timeout set and reset for each request: that took a timer object and
// listeners per request, about 10 µs of CPU each under load (npm run bench, --cpu-prof). Bytes
// either way on the exchange's connection (an upload rserver reads, a download) count as heard;
// the sweep compares counts (progress.ts). 0 means wait as long as it takes.
export function createSilenceWatch(ms: number): SilenceWatch {
  const watched = new Set<Exchange>();
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    clearInterval(timer);
    timer = undefined;
  };
  const sweep = () => {
    const now = Date.now();
    for (const exchange of watched) {
      const bytes = getProgress(exchange);
      if (bytes !== exchange.heardBytes) {
        exchange.heardBytes = bytes;
        exchange.heardAt = now;
      }
      if (now - exchange.heardAt < ms) continue;
      watched.delete(exchange);
      exchange.timedOut = true;
      exchange.proxyReq?.destroy();
    }
    if (watched.size === 0) stop();
  };
  return {
    watch(exchange) {
      if (ms === 0) return;
      exchange.heardAt = Date.now();
      exchange.heardBytes = getProgress(exchange);
      watched.add(exchange);
      if (timer === undefined) {
        timer = setInterval(sweep, Math.max(5, Math.min(1000, Math.floor(ms / 4))));
        timer.unref();
      }
    },
    unwatch(exchange) {
      watched.delete(exchange);
    },
    close() {
      watched.clear();
      stop();
    },
  };
}
