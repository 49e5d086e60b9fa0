import { readFileSync } from 'node:fs';
import {
  isRSessionProxyError,
  parseSetting,
  readSetting,
  type LogFormat,
} from '../../lib/index.js';
import type { CliIo, Command } from './command.js';
import { doctorCommand } from './doctor.js';
import { execCommand } from './exec.js';
import { EXIT, UsageError } from './exit-codes.js';
import { getBoolean, getString, parseFlags } from './flags.js';
import { MAIN_HELP } from './help.js';
import { runRelayCommand } from './relay.js';
import { createReporter } from './reporter.js';
import { serveCommand } from './serve.js';
import { slurmCommand } from './slurm.js';
import { statusCommand } from './status.js';
import { stopCommand } from './stop.js';

export type { CliIo } from './command.js';

/** Every command; a new one is a file of its own and a line here. */
const COMMANDS: readonly Command[] = [
  execCommand,
  serveCommand,
  slurmCommand,
  statusCommand,
  stopCommand,
  doctorCommand,
];

function getVersion(): string {
  const pkg = JSON.parse(
    readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  return pkg.version;
}

// --log-format, else RSESSION_PROXY_LOG_FORMAT, else text.
function getLogFormat(flag: string | undefined, env: NodeJS.ProcessEnv): LogFormat {
  if (flag !== undefined) return parseSetting('logFormat', flag, '--log-format');
  return readSetting(env, 'logFormat')?.value ?? 'text';
}

// The whole command: returns the exit code; only bin/rsession-proxy.js exits the process.
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(MAIN_HELP);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version') {
    io.stdout.write(`${getVersion()}\n`);
    return EXIT.ok;
  }
  // What a Slurm job step runs; bin/rsession-proxy.ts runs it without loading this file.
  if (name === 'relay') return runRelayCommand(rest, io);
  let reporter = createReporter({ format: 'text', verbose: false, stream: io.stderr });
  try {
    const command = COMMANDS.find((c) => c.name === name);
    if (command === undefined) {
      throw new UsageError(
        `rsession-proxy: unknown command ${JSON.stringify(name)}; expected ${COMMANDS.map((c) => c.name).join(', ')} (see rsession-proxy --help)`,
      );
    }
    const flags = parseFlags(`rsession-proxy ${command.name}`, rest, command.flags);
    if (getBoolean(flags, 'help')) {
      io.stdout.write(command.help);
      return EXIT.ok;
    }
    const reporterOptions = {
      format: getLogFormat(getString(flags, 'log-format'), io.env),
      verbose: getBoolean(flags, 'verbose'),
    };
    reporter = createReporter({ ...reporterOptions, stream: io.stderr });
    return await command.run(flags, { io, reporter, reporterOptions });
  } catch (error) {
    const code = getExitCode(error);
    const message = error instanceof Error ? error.message : String(error);
    if (code === EXIT.usage) {
      io.stderr.write(`${message.split('\n').join(' ')}\n`);
    } else {
      reporter.error(message.split('\n')[0] ?? message);
      const hint = (error as { hint?: string }).hint;
      if (hint) reporter.info(hint);
    }
    return code;
  }
}

// Which exit code an error deserves: bad input is a usage error whether the CLI or the library
// found it; an instance already running has its own code.
function getExitCode(error: unknown): number {
  if (error instanceof UsageError || isRSessionProxyError(error, 'EINVALIDOPTION'))
    return EXIT.usage;
  if (isRSessionProxyError(error, 'ELOCKED')) return EXIT.alreadyRunning;
  return EXIT.failure;
}
