import { stat } from 'node:fs/promises';
import { RSessionProxyError } from '../errors.js';
import { runBriefly } from './run-briefly.js';

export interface RServerProbe {
  path: string;
  /** Option names `--help` lists, without the leading dashes. */
  options: ReadonlySet<string>;
  /** What `--version` printed (first line), when it printed anything. */
  version: string | undefined;
}

// Option names from rserver's `--help` (Boost.program_options: `  --www-port arg (=8787) ...`).
export function parseHelpOptions(help: string): Set<string> {
  const options = new Set<string>();
  for (const match of help.matchAll(/^ {2}--([a-z0-9][a-z0-9-]*)/gm)) {
    if (match[1]) options.add(match[1]);
  }
  return options;
}

const cache = new Map<string, { key: string; probe: Promise<RServerProbe> }>();

// Learns what an rserver binary supports by running `--help` (and `--version`) once per binary:
// the cache is keyed by path, modification time and size, so an upgrade is noticed.
export async function probeRServer(path: string): Promise<RServerProbe> {
  const stats = await stat(path);
  const key = `${stats.mtimeMs}:${stats.size}`;
  const cached = cache.get(path);
  if (cached?.key === key) return cached.probe;
  const probe = runProbe(path);
  cache.set(path, { key, probe });
  probe.catch(() => cache.delete(path));
  return probe;
}

// rserver --help and --version, each killed after 15 s: a binary that hangs there is not one
// that could be started.
async function runProbe(path: string): Promise<RServerProbe> {
  const run = (flag: string) => runBriefly(path, [flag], 15_000);
  const [help, version] = await Promise.all([run('--help'), run('--version')]);
  const options = help.exitCode === 0 ? parseHelpOptions(help.stdout) : new Set<string>();
  if (options.size === 0) {
    const output = help.all.trim().split('\n').slice(-5).join('\n');
    throw new RSessionProxyError(
      'ERSERVERPROBE',
      `${path} --help did not list any options (${help.timedOut ? 'timed out' : `exit code ${help.exitCode ?? help.signal}`})${output ? `: ${output}` : ''}.`,
      { path, hint: "Check that this file is RStudio Server's rserver and that it runs." },
    );
  }
  const versionLine = version.exitCode === 0 ? version.stdout.trim().split('\n')[0] : undefined;
  return { path, options, version: versionLine || undefined };
}
