import type { Exchange } from './exchange.js';

/** The requests and handshakes waiting on rserver, and when rserver was last heard on each. */
export interface SilenceWatch {
  /** The request was just sent to rserver. */
  watch(exchange: Exchange): void;
  /** Bytes went to or came from rserver on this exchange. */
  heard(exchange: Exchange): void;
  /** Nothing more to wait for: the answer is complete, the WebSocket upgraded, or it failed. */
  unwatch(exchange: Exchange): void;
  close(): void;
}

// A request rserver stays silent on for `ms` is given up on: `timedOut` is set and the request
// destroyed (its error callback then answers 504), within ms + ms/4. One timer for all of them
// rather than a socket timeout set and reset for each request: that took a timer object and
// listeners per request, about 10 µs of CPU each under load (npm run bench, --cpu-prof).
// 0 means wait as long as it takes.
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
      watched.add(exchange);
      if (timer === undefined) {
        timer = setInterval(sweep, Math.max(5, Math.min(1000, Math.floor(ms / 4))));
        timer.unref();
      }
    },
    heard(exchange) {
      exchange.heardAt = Date.now();
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
