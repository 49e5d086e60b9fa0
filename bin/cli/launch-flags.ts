import type { LaunchOptions, Settings } from '../../lib/index.js';
import type { FlagSpec, ParsedFlags } from './flags.js';

/**
 * Flags exec and serve share: where rserver and R are, what keeps other users away from it, how
 * long to wait, where state lives.
 */
export const commonLaunchFlags = {
  rserver: { type: 'string' },
  isolation: { type: 'string' },
  r: { type: 'string' },
  timeout: { type: 'string' },
  'runtime-dir': { type: 'string' },
  'log-format': { type: 'string' },
  verbose: { type: 'boolean' },
} as const satisfies FlagSpec;

// The launcher's options the shared flags set; the library adds the environment's.
export function launchOptionsFrom(
  settings: Partial<Settings>,
  flags: ParsedFlags,
  env: NodeJS.ProcessEnv,
): LaunchOptions {
  return {
    env,
    rserver: settings.rserver,
    r: settings.r,
    runtimeDir: settings.runtimeDir,
    timeout: settings.timeout,
    isolation: settings.isolation,
    extraArgs: flags.rest,
  };
}
