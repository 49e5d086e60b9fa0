import type { InstanceLayout } from '../instance/layout.js';
import type { Logger } from '../logger.js';
import type { ProxyAdapter } from '../proxy/adapter.js';
import { writeStatusRecord } from '../instance/status.js';
import { formatListenSpec, type ListenSpec } from './listen.js';
import type { ServedBackend } from './served-backend.js';

export interface StatusTickerOptions {
  /** `serve`, or `exec` (serveExec), unless the backend names its own (`slurm`). */
  kind: 'serve' | 'exec';
  backend: ServedBackend;
  adapter: ProxyAdapter;
  layout: InstanceLayout;
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

// An idle time as a person reads it in a log line (lib/slurm/job-messages.ts formats Slurm's
// clock-style times): seconds under a minute (an idle timeout of
// 0.05 minutes is "3 s", not "0 min"), else minutes to one decimal.
export function formatIdleTime(ms: number): string {
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s`;
  return `${Number((ms / 60_000).toFixed(1))} min`;
}

const isoOrUndefined = (ms: number) => (ms ? new Date(ms).toISOString() : undefined);

// What the status endpoint answers: rserver's state and how busy it has been (and the Slurm
// job that runs it, for one that does).
export function describeStatus(backend: ServedBackend, adapter: ProxyAdapter) {
  const status = backend.status;
  return {
    state: status.state,
    pid: status.pid ?? null,
    uptime: status.readySince
      ? Math.round((Date.now() - status.readySince.getTime()) / 1000)
      : null,
    lastActivity: isoOrUndefined(adapter.lastActivity) ?? null,
    restarts: status.restarts,
    isolation: status.isolation?.level ?? null,
    lastError: status.lastError ?? null,
    ...(status.job && { job: status.job }),
  };
}

// Keeps the status file that `rsession-proxy status` reads up to date (at once on every state
// change, and on each tick for the last activity), and stops rserver after `idleTimeout`
// without traffic: it starts again on the next request.
export async function startStatusTicker(options: StatusTickerOptions): Promise<StatusTicker> {
  const { kind, backend, adapter, layout, listener, prefix, idleTimeout, logger } = options;
  const startedAt = new Date().toISOString();
  let stopped = false;
  const writeNow = async () => {
    if (stopped) return;
    const status = backend.status;
    await writeStatusRecord(layout.statusFile, {
      kind: status.kind ?? kind,
      instance: layout.name,
      pid: process.pid,
      socket: status.socketPath,
      listener: formatListenSpec(listener),
      prefix,
      startedAt,
      state: status.state,
      rserverPid: status.pid,
      readySince: status.readySince?.toISOString(),
      lastActivity: isoOrUndefined(adapter.lastActivity),
      restarts: status.restarts,
      // The description begins with the level ("namespace: rserver listens…").
      isolation: status.isolation?.description,
      job: status.job,
    }).catch(() => undefined);
  };
  // One write at a time, in order: two racing writes could leave the older record last.
  let writing = Promise.resolve();
  const write = () => (writing = writing.then(writeNow));
  const onState = () => void write();
  await write();
  backend.on('state', onState);
  backend.on('status', onState);

  const tick = () => {
    void write();
    if (idleTimeout === 0 || backend.state !== 'running') return;
    if (Date.now() - adapter.lastActivity <= idleTimeout) return;
    logger?.({
      level: 'info',
      source: 'rsession-proxy',
      message: `no traffic for ${formatIdleTime(idleTimeout)}: stopping rserver until the next request`,
    });
    void backend.stop();
  };
  const ticker = setInterval(tick, Math.min(15_000, Math.max(250, idleTimeout / 4 || 15_000)));
  ticker.unref();

  return {
    stop() {
      stopped = true;
      clearInterval(ticker);
      backend.off('state', onState);
      backend.off('status', onState);
    },
  };
}
