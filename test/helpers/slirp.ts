// slirp4netns as the tests see it: where it is installed, and what it makes in a namespace.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';

/** slirp4netns where the launcher looks for it (PATH, then the system directories); CI has it. */
export const SLIRP4NETNS = [
  ...(process.env.PATH ?? '').split(':'),
  '/usr/sbin',
  '/sbin',
  '/usr/bin',
  '/bin',
]
  .filter((dir) => dir !== '')
  .map((dir) => join(dir, 'slirp4netns'))
  .find((path) => existsSync(path));

// Whether this process may open the tun device slirp4netns needs (root always may).
export function canOpenTun(): boolean {
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

// The tap device slirp4netns configures is up in the network namespace of `pid`, with
// slirp4netns's address and the default route through it (seen from inside, with nsenter).
export function assertTapUp(pid: number): void {
  const ip = (args: string[]) =>
    execFileSync('nsenter', ['-t', String(pid), '-n', 'ip', ...args], { encoding: 'utf8' });
  assert.match(ip(['-o', 'addr', 'show', 'tap0']), /inet 10\.0\.2\.100\/24/);
  assert.match(ip(['link', 'show', 'tap0']), /state UP|,UP/);
  assert.match(ip(['route', 'show', 'default']), /default via 10\.0\.2\.2 dev tap0/);
}
