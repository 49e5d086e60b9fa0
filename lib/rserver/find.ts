import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { readSetting } from '../environment.js';
import { RSessionProxyError } from '../errors.js';

/** Where RStudio Server's packages install rserver, after PATH. */
export const RSERVER_INSTALL_PATHS = [
  '/usr/lib/rstudio-server/bin/rserver',
  '/usr/lib/rstudio/bin/rserver',
] as const;

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

// The first executable `name` on PATH, like `which`.
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

export interface FindRServerOptions {
  /** An explicit path (--rserver); must exist. */
  rserver?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

// Finds rserver: the option, then RSESSION_PROXY_RSERVER, then PATH, then the install paths.
// An explicit choice that is wrong is an error rather than a silent fallback.
export function findRServer(options: FindRServerOptions = {}): string {
  const env = options.env ?? process.env;
  const explicit = options.rserver ?? readSetting(env, 'rserver')?.value;
  if (explicit !== undefined) {
    const source = options.rserver === undefined ? 'RSESSION_PROXY_RSERVER' : '--rserver';
    const path = resolve(explicit);
    if (isExecutableFile(path)) return path;
    throw new RSessionProxyError(
      'ERSERVERNOTFOUND',
      `rserver not found: ${source} names ${explicit}, which is not an executable file.`,
      { path, hint: 'Point --rserver (or RSESSION_PROXY_RSERVER) at the rserver binary.' },
    );
  }
  const onPath = findOnPath('rserver', env);
  if (onPath) return onPath;
  const installed = RSERVER_INSTALL_PATHS.find(isExecutableFile);
  if (installed) return installed;
  throw new RSessionProxyError(
    'ERSERVERNOTFOUND',
    `rserver not found: looked on PATH and in ${RSERVER_INSTALL_PATHS.join(' and ')}.`,
    {
      hint: 'Install RStudio Server (2024.12.0 or newer), or point --rserver (or RSESSION_PROXY_RSERVER) at its rserver binary.',
    },
  );
}

// The R rserver is given: the option, then RSESSION_PROXY_R or RSTUDIO_WHICH_R, then R on PATH;
// undefined leaves it to rserver (which then fails with a line known-errors.ts explains).
export function findR(options: {
  r?: string | undefined;
  env: NodeJS.ProcessEnv;
}): string | undefined {
  return options.r ?? readSetting(options.env, 'r')?.value ?? findOnPath('R', options.env);
}
