import type { Logger } from '../logger.js';
import type { ProxyAdapter } from '../proxy/adapter.js';
import type { Supervisor } from '../rserver/supervisor.js';
import { writeStatusRecord } from '../instance/status.js';
import { formatListenSpec, type ListenSpec } from './listen.js';

export interface StatusTickerOptions {
  /** `serve`, or `exec` (serveExec): `status` and `stop` treat both alike. */
  kind: 'serve' | 'exec';
  supervisor: Supervisor;
  adapter: ProxyAdapter;
  layout: Awaited<ReturnType<Supervisor['open']>>;
  listener: ListenSpec;
  prefix: string;
  /** Stop rserver after this many ms without traffic; 0 never. */
  idleTimeout: number;
  logger: Logger | undefined;
}

export interface StatusTicker {
  /** Stops the ticks and the writes (the instance removes the file when it is released). */
  stop(): void;
}

const isoOrUndefined = (ms: number) => (ms ? new Date(ms).toISOString() : undefined);

// What the status endpoint answers: rserver's state and how busy it has been.
export function describeStatus(supervisor: Supervisor, adapter: ProxyAdapter) {
  const status = supervisor.status;
  return {
    state: status.state,
    pid: status.pid ?? null,
    uptime: status.readySince
      ? Math.round((Date.now() - status.readySince.getTime()) / 1000)
      : null,
    lastActivity: isoOrUndefined(adapter.lastActivity) ?? null,
    restarts: status.restarts,
    lastError: status.lastError ?? null,
  };
}

// Keeps the status file that `rsession-proxy status` reads up to date (at once on every state
// change, and on each tick for the last activity), and stops rserver after `idleTimeout`
// without traffic: it starts again on the next request.
export async function startStatusTicker(options: StatusTickerOptions): Promise<StatusTicker> {
  const { kind, supervisor, adapter, layout, listener, prefix, idleTimeout, logger } = options;
  const startedAt = new Date().toISOString();
  let stopped = false;
  const write = async () => {
    if (stopped) return;
    await writeStatusRecord(layout.statusFile, {
      kind,
      instance: layout.name,
      pid: process.pid,
      socket: layout.socketPath,
      listener: formatListenSpec(listener),
      prefix,
      startedAt,
      state: supervisor.state,
      rserverPid: supervisor.status.pid,
      readySince: supervisor.status.readySince?.toISOString(),
      lastActivity: isoOrUndefined(adapter.lastActivity),
      restarts: supervisor.status.restarts,
    }).catch(() => undefined);
  };
  const onState = () => void write();
  await write();
  supervisor.on('state', onState);

  const tick = () => {
    void write();
    if (idleTimeout === 0 || supervisor.state !== 'running') return;
    if (Date.now() - adapter.lastActivity <= idleTimeout) return;
    logger?.({
      level: 'info',
      source: 'rsession-proxy',
      message: `no traffic for ${Math.round(idleTimeout / 60_000)} min: stopping rserver until the next request`,
    });
    void supervisor.stop();
  };
  const ticker = setInterval(tick, Math.min(15_000, Math.max(250, idleTimeout / 4 || 15_000)));
  ticker.unref();

  return {
    stop() {
      stopped = true;
      clearInterval(ticker);
      supervisor.off('state', onState);
    },
  };
}
