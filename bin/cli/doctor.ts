import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertDataDirSocketLength,
  assertSocketPathLength,
  findRServer,
  getStateDirs,
  probeRServer,
  resolveRuntimeBase,
  validateInstanceName,
} from '../../lib/index.js';
import { getPrivacyProblem } from '../../lib/private-dir.js';
import { findOnPath } from '../../lib/rserver/find.js';
import { resolveInstanceLayout } from '../../lib/rserver/instance.js';
import { normalizeLaunchOptions } from '../../lib/rserver/options.js';
import { supportsPdeathsig } from '../../lib/rserver/spawn.js';
import { EXIT } from './exit-codes.js';
import { getBoolean, getString, parseFlags, type ParsedFlags } from './flags.js';

export const DOCTOR_FLAGS = {
  json: { type: 'boolean' },
  rserver: { type: 'string' },
  r: { type: 'string' },
  instance: { type: 'string' },
  'runtime-dir': { type: 'string' },
} as const;

export function parseDoctorFlags(argv: readonly string[]): ParsedFlags {
  return parseFlags('rsession-proxy doctor', argv, DOCTOR_FLAGS);
}

export interface Check {
  name: string;
  ok: boolean;
  /** A failed blocking check stops a start; others are advice. */
  blocking: boolean;
  detail: string;
  hint?: string | undefined;
}

function fromError(name: string, error: unknown, blocking = true): Check {
  const { message, hint } = error as { message: string; hint?: string };
  return { name, ok: false, blocking, detail: message.split('\n')[0] ?? message, hint };
}

// Whether a directory that may not exist yet is fit to be private: missing is fine (it will be
// created 0700), present must already be private.
function checkDir(name: string, path: string): Check {
  let stats;
  try {
    stats = lstatSync(path);
  } catch {
    return { name, ok: true, blocking: true, detail: `${path} (will be created with mode 0700)` };
  }
  const problem = getPrivacyProblem(stats, process.getuid?.() ?? -1);
  return problem
    ? {
        name,
        ok: false,
        blocking: true,
        detail: `${path}: ${problem}`,
        hint: 'Fix or remove it, or choose another directory (--runtime-dir).',
      }
    : { name, ok: true, blocking: true, detail: `${path} (private)` };
}

// Everything that decides whether a start can work here, each with a hint when it cannot.
export async function runDoctorChecks(
  flags: ParsedFlags,
  env: NodeJS.ProcessEnv,
): Promise<Check[]> {
  const checks: Check[] = [];
  const instance = getString(flags, 'instance');
  const options = normalizeLaunchOptions({
    env,
    runtimeDir: getString(flags, 'runtime-dir'),
    instance: instance === undefined ? undefined : validateInstanceName(instance),
    rserver: getString(flags, 'rserver'),
    r: getString(flags, 'r'),
  });
  try {
    const rserver = findRServer({ rserver: options.rserver, env });
    checks.push({ name: 'rserver found', ok: true, blocking: true, detail: rserver });
    try {
      const probe = await probeRServer(rserver);
      const socket = probe.options.has('www-socket');
      checks.push({
        name: 'rserver supports --www-socket',
        ok: socket,
        blocking: true,
        detail: `${probe.version ?? 'version unknown'}: ${socket ? 'yes' : 'no (older than RStudio Server 2024.12.0)'}`,
        hint: socket ? undefined : 'Install RStudio Server 2024.12.0 or newer.',
      });
    } catch (error) {
      checks.push(fromError('rserver supports --www-socket', error));
    }
  } catch (error) {
    checks.push(fromError('rserver found', error));
  }
  const r = options.r ?? (env.RSTUDIO_WHICH_R || undefined) ?? findOnPath('R', env);
  checks.push(
    r && existsSync(r)
      ? { name: 'R found', ok: true, blocking: true, detail: r }
      : {
          name: 'R found',
          ok: false,
          blocking: true,
          detail: r ? `${r} does not exist` : 'no R on PATH and RSTUDIO_WHICH_R unset',
          hint: 'Install R, or point --r (RSTUDIO_WHICH_R) at it.',
        },
  );
  const base = resolveRuntimeBase({ runtimeDir: options.runtimeDir, env });
  const layout = resolveInstanceLayout(options);
  checks.push(checkDir('runtime directory private', base.path));
  checks.push(checkDir('instance directory private', layout.dir));
  checks.push(checkDir('state directory private', getStateDirs().data));
  for (const [name, check] of [
    ['rserver socket path within 107 bytes', () => assertSocketPathLength(layout.socketPath)],
    ['data-dir socket path within 107 bytes', () => assertDataDirSocketLength(layout.dataDir)],
    [
      'listener socket path within 107 bytes',
      () => assertSocketPathLength(join(layout.dir, 'proxy.sock')),
    ],
  ] as const) {
    try {
      check();
      checks.push({ name, ok: true, blocking: true, detail: 'ok' });
    } catch (error) {
      checks.push(fromError(name, error));
    }
  }
  const setpriv = findOnPath('setpriv', env) ?? findOnPath('setpriv', { PATH: '/usr/bin:/bin' });
  const pdeathsig = setpriv !== undefined && supportsPdeathsig(setpriv);
  checks.push({
    name: 'setpriv --pdeathsig available',
    ok: pdeathsig,
    blocking: false,
    detail: pdeathsig ? setpriv : 'no',
    hint: pdeathsig
      ? undefined
      : 'Install util-linux 2.33 or newer: without it rserver survives a SIGKILLed supervisor until the next start stops it.',
  });
  checks.push({
    name: 'XDG_RUNTIME_DIR set and private',
    ok:
      base.source === 'XDG_RUNTIME_DIR' ||
      base.source === 'option' ||
      base.source === 'RSESSION_PROXY_RUNTIME_DIR',
    blocking: false,
    detail: base.warning ?? env.XDG_RUNTIME_DIR ?? `unset; using ${base.path}`,
    hint:
      base.source === 'tmpdir'
        ? 'Fine: the fallback in the temporary directory is private too. Log in through systemd/pam_systemd to get /run/user/<uid>.'
        : undefined,
  });
  return checks;
}

export async function runDoctor(
  flags: ParsedFlags,
  env: NodeJS.ProcessEnv,
  stdout: NodeJS.WritableStream,
): Promise<number> {
  const checks = await runDoctorChecks(flags, env);
  const blocked = checks.some((check) => check.blocking && !check.ok);
  if (getBoolean(flags, 'json')) {
    stdout.write(`${JSON.stringify({ ok: !blocked, checks }, null, 2)}\n`);
  } else {
    for (const check of checks) {
      const mark = check.ok ? '✓' : check.blocking ? '✗' : '!';
      stdout.write(`${mark} ${check.name}: ${check.detail}\n`);
      if (!check.ok && check.hint) stdout.write(`    ${check.hint}\n`);
    }
    stdout.write(blocked ? '\nSomething above blocks a start.\n' : '\nNothing blocks a start.\n');
  }
  return blocked ? EXIT.failure : EXIT.ok;
}
