import { setTimeout as delay } from 'node:timers/promises';
import { readLockHolder, resolveRuntimeBase, validateInstanceName } from '../../lib/index.js';
import { isHolderAlive } from '../../lib/lock.js';
import { resolveInstanceLayout } from '../../lib/rserver/instance.js';
import { normalizeLaunchOptions } from '../../lib/rserver/options.js';
import { EXIT } from './exit-codes.js';
import { getString, parseFlags, type ParsedFlags } from './flags.js';
import type { Reporter } from './reporter.js';

export const STOP_FLAGS = {
  instance: { type: 'string' },
  socket: { type: 'string' },
  'runtime-dir': { type: 'string' },
} as const;

export function parseStopFlags(argv: readonly string[]): ParsedFlags {
  return parseFlags('rsession-proxy stop', argv, STOP_FLAGS);
}

// Stops a serve or exec through its supervisor: SIGTERM to the lock's holder, which stops rserver
// and everything it started and releases the lock; this waits until the lock is free.
export async function runStop(
  flags: ParsedFlags,
  env: NodeJS.ProcessEnv,
  reporter: Reporter,
): Promise<number> {
  const instance = getString(flags, 'instance');
  const layout = resolveInstanceLayout(
    normalizeLaunchOptions({
      env,
      runtimeDir: getString(flags, 'runtime-dir'),
      instance:
        instance === undefined
          ? env.RSESSION_PROXY_INSTANCE || undefined
          : validateInstanceName(instance),
      socketPath: getString(flags, 'socket'),
    }),
  );
  const holder = await readLockHolder(layout.lockTarget);
  if (!holder || !isHolderAlive(holder)) {
    reporter.info(
      `Nothing is running for ${getString(flags, 'socket') ?? `instance ${layout.name}`} (${resolveRuntimeBase({ runtimeDir: getString(flags, 'runtime-dir'), env }).path}).`,
    );
    return EXIT.ok;
  }
  reporter.step(`stopping ${layout.name} (supervisor pid ${holder.pid})`);
  process.kill(holder.pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const current = await readLockHolder(layout.lockTarget);
    if (!current || current.pid !== holder.pid || !isHolderAlive(current)) {
      reporter.done(`stopped ${layout.name}`);
      return EXIT.ok;
    }
    await delay(100);
  }
  reporter.error(`pid ${holder.pid} did not stop within 30 s; it still holds ${layout.lockTarget}`);
  return EXIT.failure;
}
