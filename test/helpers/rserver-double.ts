// Where the rserver test double lives, and variants of it: each variant is a wrapper script of
// its own, in a directory of the caller's, that bakes in RSERVER_DOUBLE_* settings.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, realpathSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isProcessAlive } from '../../lib/proc.js';

/** The double's executable (a sh wrapper that execs Node on the compiled double). */
export const RSERVER_DOUBLE = fileURLToPath(
  new URL('../../../test/fixtures/bin/rserver', import.meta.url),
);

/** An executable that stands in for R. */
export const FAKE_R = fileURLToPath(new URL('../../../test/fixtures/bin/R', import.meta.url));

// Quotes a value for sh.
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Writes `<dir>/<name>` (default `rserver`): the double with `env` baked in; returns its path. */
export async function writeRserverVariant(
  dir: string,
  env: Readonly<Record<string, string>>,
  name = 'rserver',
  double = RSERVER_DOUBLE,
): Promise<string> {
  const path = join(dir, name);
  const exports = Object.entries(env).map(([key, value]) => `export ${key}=${shellQuote(value)}`);
  const script = ['#!/bin/sh', ...exports, `exec ${shellQuote(double)} "$@"`, ''];
  await writeFile(path, script.join('\n'), { mode: 0o755 });
  return path;
}

/** Writes each variant asked for into a directory of its own under `root`; returns its path. */
export function makeVariantWriter(
  root: string,
): (env: Readonly<Record<string, string>>) => Promise<string> {
  let variants = 0;
  return async (env) => {
    const dir = join(root, `variant-${++variants}`);
    await mkdir(dir);
    return writeRserverVariant(dir, env);
  };
}

/**
 * The start failures of RSERVER.md that the double plays on `RSERVER_DOUBLE_FAIL`:
 * [its value, rserver's own line, the hint the launcher must give].
 */
export const DOUBLE_FAILURES: readonly (readonly [string, RegExp, RegExp])[] = [
  [
    'session-rpc-key',
    /Permission denied\) \[path: \/var\/lib\/rstudio-server\/session-rpc-key\]/,
    /2026\.05/,
  ],
  ['r-not-found', /Unable to determine real path of R script/, /install R/],
  ['server-user', /Attempt to run server as user/, /can only run as you/],
  ['data-dir', /system error 13 \(Permission denied\)/, /cannot write/],
  ['file-name-too-long', /File name too long \[system:36\]/, /107 bytes/],
];

/** The double's rsession executable (test/fixtures/bin/rsession), for --rsession-path wrappers. */
export const RSESSION_DOUBLE = fileURLToPath(
  new URL('../../../test/fixtures/bin/rsession', import.meta.url),
);

/** Live rsessions (and the R they run) of doubles whose --server-data-dir is under `dir`: rserver
 * gives rsession an environment of its own, so a marker in rserver's does not reach them, but
 * RS_SESSION_TMP_DIR=<data dir>/rstudio-rsession does. */
export function findSessionPids(dir: string): number[] {
  const prefix = `RS_SESSION_TMP_DIR=${dir}`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (environ.some((line) => line.startsWith(prefix)) && isProcessAlive(Number(entry))) {
        pids.push(Number(entry));
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

/** The environment of a live process, from /proc. */
export function readProcessEnv(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const equals = line.indexOf('=');
    if (equals > 0) env[line.slice(0, equals)] = line.slice(equals + 1);
  }
  return env;
}

/** A real R on PATH (not the stand-in), or undefined: `R --version` must name R's version. */
export function findRealR(path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(':')) {
    const candidate = join(dir, 'R');
    try {
      if (realpathSync(candidate) === realpathSync(FAKE_R)) continue;
    } catch {
      continue;
    }
    const version = spawnSync(candidate, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    if (version.status === 0 && /^R version \d/.test(version.stdout)) return candidate;
  }
  return undefined;
}

/** Whether a test that needs real R can run: it fails in CI (CI=true installs R) and is skipped
 * with the reason elsewhere. */
export function requireRealR(t: { skip(message: string): void }): string | undefined {
  const r = findRealR();
  if (r !== undefined) return r;
  if (process.env.CI === 'true') {
    throw new Error(
      'no R on PATH: CI installs r-base-core (.ci/run); R evaluation cannot be tested',
    );
  }
  t.skip('no R on PATH (Debian: apt-get install r-base-core); R evaluation is not tested');
  return undefined;
}
