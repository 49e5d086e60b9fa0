const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

// Resolves with the first of SIGTERM, SIGINT or SIGHUP; the handlers stay installed so a second
// signal during shutdown does not kill the process halfway (the lock and rserver must go first).
export function waitForShutdownSignal(): { signal: Promise<NodeJS.Signals>; dispose(): void } {
  let resolve: (signal: NodeJS.Signals) => void = () => undefined;
  const signal = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const handlers = SHUTDOWN_SIGNALS.map((name) => {
    const handler = () => resolve(name);
    process.on(name, handler);
    return [name, handler] as const;
  });
  return {
    signal,
    dispose: () => {
      for (const [name, handler] of handlers) process.off(name, handler);
    },
  };
}
