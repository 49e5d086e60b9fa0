import { runDoctor } from '../../lib/index.js';
import type { Command, CommandContext } from './command.js';
import { EXIT } from './exit-codes.js';
import { getBoolean, readFlagSettings, type ParsedFlags } from './flags.js';
import { DOCTOR_HELP } from './help.js';

// The library's checks, as a checklist with a hint per problem, or as JSON; exit 1 when
// something blocks a start. The library reads the environment as serve does.
async function runDoctorCommand(flags: ParsedFlags, { io }: CommandContext): Promise<number> {
  const settings = readFlagSettings(flags);
  const checks = await runDoctor({
    env: io.env,
    runtimeDir: settings.runtimeDir,
    instance: settings.instance,
    rserver: settings.rserver,
    r: settings.r,
    isolation: settings.isolation,
    listen: settings.listen,
    tokenFile: settings.tokenFile,
  });
  const blocked = checks.some((check) => check.blocking && !check.ok);
  if (getBoolean(flags, 'json')) {
    io.stdout.write(`${JSON.stringify({ ok: !blocked, checks }, null, 2)}\n`);
  } else {
    for (const check of checks) {
      const mark = check.ok ? '✓' : check.blocking ? '✗' : '!';
      io.stdout.write(`${mark} ${check.name}: ${check.detail}\n`);
      if (!check.ok && check.hint) io.stdout.write(`    ${check.hint}\n`);
    }
    io.stdout.write(
      blocked ? '\nSomething above blocks a start.\n' : '\nNothing blocks a start.\n',
    );
  }
  return blocked ? EXIT.failure : EXIT.ok;
}

export const doctorCommand: Command = {
  name: 'doctor',
  flags: {
    json: { type: 'boolean' },
    rserver: { type: 'string' },
    r: { type: 'string' },
    isolation: { type: 'string' },
    instance: { type: 'string' },
    'runtime-dir': { type: 'string' },
    listen: { type: 'string' },
    'token-file': { type: 'string' },
  },
  help: DOCTOR_HELP,
  run: runDoctorCommand,
};
