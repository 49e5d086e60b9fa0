import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runCommand } from './processes.js';

export interface Tools {
  wrk: string | undefined;
  nginx: string | undefined;
}

// nginx lives in /usr/sbin, which is not on every user's PATH.
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];

export function findTool(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of [...path.split(delimiter), ...EXTRA_DIRS]) {
    if (!dir.startsWith('/')) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** What to tell someone who has neither and cannot let the bench install them. */
export const INSTALL_HINT =
  'sudo apt-get install --no-install-recommends nginx-light wrk   (Debian/Ubuntu; on Debian 13 and later: nginx wrk)';

// Debian 12 has nginx-light (the smallest build); later releases have only nginx.
async function pickNginxPackage(): Promise<string> {
  const policy = await runCommand('apt-cache', ['policy', 'nginx-light']).catch(() => undefined);
  return policy && /Candidate: (?!\(none\))/.test(policy.stdout) ? 'nginx-light' : 'nginx';
}

// Finds wrk and nginx; as root on a Debian-like system, installs the missing ones with apt
// (Debian's packages: what the figures are about); otherwise says how, and the contenders that
// need them are skipped.
export async function ensureTools(log: (line: string) => void): Promise<Tools> {
  let tools: Tools = { wrk: findTool('wrk'), nginx: findTool('nginx') };
  const missing = Object.entries(tools)
    .filter(([, path]) => path === undefined)
    .map(([name]) => name);
  if (missing.length === 0) return tools;
  const aptGet = findTool('apt-get');
  if (process.getuid?.() !== 0 || aptGet === undefined) {
    log(`missing: ${missing.join(' and ')}; install with:\n  ${INSTALL_HINT}`);
    log('the figures that need them are skipped');
    return tools;
  }
  const packages = missing.map((name) => name);
  if (missing.includes('nginx')) packages[missing.indexOf('nginx')] = await pickNginxPackage();
  log(`installing ${packages.join(' ')} with apt-get (running as root)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = await runCommand(aptGet, ['update', '-qq'], { env });
  const install = await runCommand(
    aptGet,
    ['install', '-y', '-qq', '--no-install-recommends', ...packages],
    { env },
  );
  if (update.code !== 0 || install.code !== 0) {
    log(`apt-get failed:\n${update.stderr}${install.stderr}\ninstall by hand:\n  ${INSTALL_HINT}`);
  }
  tools = { wrk: findTool('wrk'), nginx: findTool('nginx') };
  return tools;
}
