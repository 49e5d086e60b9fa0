import { resolveInstanceLayout, type InstanceLayout } from '../instance/layout.js';
import { openLayout } from '../instance/open.js';
import { findRServer } from './find.js';
import { normalizeLaunchOptions, type LaunchOptions } from './options.js';
import { probeRServer } from './probe.js';
import { throwIfAborted } from './exit-errors.js';
import type { RServerProcess } from './running.js';
import { startRServer } from './start.js';

export interface RServer extends RServerProcess {
  /** The instance's paths: its private directory, socket, data directory… */
  readonly instance: InstanceLayout;
}

// Starts one rserver for this user on a private socket and resolves once it answers HTTP. It
// holds the instance lock until `stop()` resolves or rserver exits by itself; either way no
// process, socket or lock is left behind. Cancel a start with `signal`.
export async function launchRServer(
  options: LaunchOptions & { signal?: AbortSignal | undefined } = {},
): Promise<RServer> {
  const normalized = normalizeLaunchOptions(options);
  const probe = await probeRServer(
    findRServer({ rserver: normalized.rserver, env: normalized.env }),
  );
  throwIfAborted(options.signal);
  const layout = resolveInstanceLayout(normalized.instance);
  const instance = await openLayout(layout, normalized);
  let rserver: RServerProcess;
  try {
    instance.verify();
    rserver = await startRServer({
      options: normalized,
      layout,
      probe,
      signal: options.signal,
      afterStop: () => instance.close(),
    });
  } catch (error) {
    await instance.close();
    throw error;
  }
  return Object.assign(rserver, { instance: layout });
}
