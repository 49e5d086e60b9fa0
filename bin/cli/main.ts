import { readFileSync } from 'node:fs';
import { runDoctor, parseDoctorFlags } from './doctor.js';
import { parseExecFlags, runExec } from './exec.js';
import { EXIT, UsageError, getExitCode } from './exit-codes.js';
import { getBoolean, getString, type ParsedFlags } from './flags.js';
import {
  DOCTOR_HELP,
  EXEC_HELP,
  MAIN_HELP,
  RELAY_HELP,
  SERVE_HELP,
  SLURM_HELP,
  STATUS_HELP,
  STOP_HELP,
} from './help.js';
import { createReporter, type LogFormat } from './reporter.js';
import { parseRelayFlags, runRelay } from './relay.js';
import { parseServeFlags, runServe } from './serve.js';
import { parseSlurmFlags, runSlurm } from './slurm.js';
import { parseStatusFlags, runStatus } from './status.js';
import { parseStopFlags, runStop } from './stop.js';

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

function getVersion(): string {
  const pkg = JSON.parse(
    readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  return pkg.version;
}

function getLogFormat(flags: ParsedFlags, env: NodeJS.ProcessEnv): LogFormat {
  const format = getString(flags, 'log-format') ?? (env.RSESSION_PROXY_LOG_FORMAT || 'text');
  if (format !== 'text' && format !== 'json') {
    throw new UsageError(
      `rsession-proxy: --log-format must be text or json, got ${JSON.stringify(format)}`,
    );
  }
  return format;
}

// RSESSION_PROXY_DEMO=auto (what `npm start` sets): the test double when no rserver is installed.
function getDemoMode(env: NodeJS.ProcessEnv): 'on' | 'auto' | 'off' {
  const value = env.RSESSION_PROXY_DEMO;
  if (value === 'auto') return 'auto';
  return value === '1' || value === 'true' ? 'on' : 'off';
}

const COMMANDS = {
  exec: { parse: parseExecFlags, help: EXEC_HELP },
  serve: { parse: parseServeFlags, help: SERVE_HELP },
  slurm: { parse: parseSlurmFlags, help: SLURM_HELP },
  status: { parse: parseStatusFlags, help: STATUS_HELP },
  stop: { parse: parseStopFlags, help: STOP_HELP },
  doctor: { parse: parseDoctorFlags, help: DOCTOR_HELP },
  relay: { parse: parseRelayFlags, help: RELAY_HELP },
} as const;

// The whole command: returns the exit code; only bin/rsession-proxy.js exits the process.
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(MAIN_HELP);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command === '--version') {
    io.stdout.write(`${getVersion()}\n`);
    return EXIT.ok;
  }
  const spec = Object.hasOwn(COMMANDS, command)
    ? COMMANDS[command as keyof typeof COMMANDS]
    : undefined;
  let reporter = createReporter({ format: 'text', verbose: false, stream: io.stderr });
  try {
    if (!spec) {
      throw new UsageError(
        `rsession-proxy: unknown command ${JSON.stringify(command)}; expected exec, serve, slurm, status, stop or doctor (see rsession-proxy --help)`,
      );
    }
    const flags = spec.parse(rest);
    if (getBoolean(flags, 'help')) {
      io.stdout.write(spec.help);
      return EXIT.ok;
    }
    const reporterOptions = {
      format: getLogFormat(flags, io.env),
      verbose: getBoolean(flags, 'verbose'),
    };
    reporter = createReporter({ ...reporterOptions, stream: io.stderr });
    switch (command) {
      case 'exec':
        return await runExec(flags, io.env, reporter);
      case 'serve':
        return await runServe(flags, io.env, reporter, io.stdout, getDemoMode(io.env));
      case 'slurm':
        return await runSlurm(flags, io.env, reporterOptions, io);
      case 'status':
        return await runStatus(flags, io.env, io.stdout);
      case 'stop':
        return await runStop(flags, io.env, reporter);
      case 'relay':
        return await runRelay(flags, process.stdin, io.stdout);
      default:
        return await runDoctor(flags, io.env, io.stdout);
    }
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
