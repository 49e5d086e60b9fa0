import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  findR,
  findRServer,
  isRSessionProxyError,
  type DemoMode,
  type ServeOptions,
} from '../../lib/index.js';
import { UsageError } from './exit-codes.js';

/** The rserver test double, used by --demo (only in a clone: it is not in the package). */
export const DEMO_RSERVER = fileURLToPath(
  new URL('../../../test/fixtures/bin/rserver', import.meta.url),
);
/** The stand-in for R, for a demo on a machine without R (its console then says so). */
const DEMO_R = fileURLToPath(new URL('../../../test/fixtures/bin/R', import.meta.url));

/** The demo's listener: a port on this machine that a browser here opens with a click. */
export const DEMO_LISTEN = { host: '127.0.0.1', port: 0 } as const;

// Whether to use the test double: always (--demo, RSESSION_PROXY_DEMO=1), or (auto, what
// `npm start` sets) only when no rserver is found.
function wantsDouble(options: ServeOptions, mode: DemoMode): boolean {
  if (mode !== 'auto') return mode === 'on';
  try {
    findRServer({ rserver: options.rserver, env: options.env });
    return false;
  } catch (error) {
    if (isRSessionProxyError(error, 'ERSERVERNOTFOUND')) return true;
    throw error;
  }
}

// The demo's options: the double as rserver, the real R when there is one (its console then
// evaluates), the instance `demo` and a TCP listener on 127.0.0.1 unless chosen otherwise.
// undefined when the demo is not wanted.
export function getDemoOptions(
  options: ServeOptions,
  mode: DemoMode,
  listenChosen: boolean,
): ServeOptions | undefined {
  if (!wantsDouble(options, mode)) return undefined;
  if (!existsSync(DEMO_RSERVER)) {
    throw new UsageError(
      'rsession-proxy serve: --demo needs a clone of the repository (the rserver test double is not published with the package)',
    );
  }
  const r = findR({ r: options.r, env: options.env ?? {} }) ?? DEMO_R;
  return {
    ...options,
    rserver: DEMO_RSERVER,
    r,
    instance: options.instance ?? 'demo',
    listen: listenChosen ? options.listen : DEMO_LISTEN,
  };
}
