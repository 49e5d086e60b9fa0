import type { LaunchOptions } from '../../lib/index.js';
import { getString, parsePositiveNumber, type ParsedFlags } from './flags.js';

/** Flags exec and serve share: where rserver and R are, how long to wait, where state lives. */
export const commonLaunchFlags = {
  rserver: { type: 'string' },
  r: { type: 'string' },
  timeout: { type: 'string' },
  'runtime-dir': { type: 'string' },
  'log-format': { type: 'string' },
  verbose: { type: 'boolean' },
} as const;

// Flags first, then RSESSION_PROXY_* (the library reads RSERVER_TIMEOUT and the
// jupyter-rsession-proxy names itself).
export function commonLaunchOptions(
  command: string,
  flags: ParsedFlags,
  env: NodeJS.ProcessEnv,
): LaunchOptions {
  const seconds = parsePositiveNumber(
    command,
    'timeout',
    getString(flags, 'timeout') ?? (env.RSESSION_PROXY_TIMEOUT || undefined),
    'seconds',
    3600,
  );
  return {
    env,
    rserver: getString(flags, 'rserver'),
    r: getString(flags, 'r') ?? (env.RSESSION_PROXY_R || undefined),
    runtimeDir: getString(flags, 'runtime-dir'),
    timeout: seconds === undefined ? undefined : seconds * 1000,
  };
}
