// Where the rserver test double lives, and variants of it: each variant is a wrapper script of
// its own, in a directory of the caller's, that bakes in RSERVER_DOUBLE_* settings.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
): Promise<string> {
  const path = join(dir, name);
  const exports = Object.entries(env).map(([key, value]) => `export ${key}=${shellQuote(value)}`);
  const script = ['#!/bin/sh', ...exports, `exec ${shellQuote(RSERVER_DOUBLE)} "$@"`, ''];
  await writeFile(path, script.join('\n'), { mode: 0o755 });
  return path;
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
