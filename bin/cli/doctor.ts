import { runDoctor as runDoctorChecks } from '../../lib/index.js';
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

// The library's checks, as a checklist with a hint per problem, or as JSON; exit 1 when
// something blocks a start.
export async function runDoctor(
  flags: ParsedFlags,
  env: NodeJS.ProcessEnv,
  stdout: NodeJS.WritableStream,
): Promise<number> {
  const checks = await runDoctorChecks({
    env,
    runtimeDir: getString(flags, 'runtime-dir'),
    instance: getString(flags, 'instance') ?? (env.RSESSION_PROXY_INSTANCE || undefined),
    rserver: getString(flags, 'rserver'),
    r: getString(flags, 'r') ?? (env.RSESSION_PROXY_R || undefined),
  });
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
