import { parseArgs } from 'node:util';
import {
  ENVIRONMENT_VARIABLES,
  hasControlCharacters,
  parseSetting,
  type Settings,
} from '../../lib/index.js';
import { isPlainAbsolutePath } from './absolute-path.js';
import { UsageError } from './exit-codes.js';

export type FlagSpec = Record<
  string,
  { type: 'string' | 'boolean'; multiple?: boolean; short?: string }
>;

export interface ParsedFlags {
  values: Record<string, string | boolean | string[] | undefined>;
  /** Arguments after `--`, passed to rserver. */
  rest: string[];
}

const MAX_VALUE_LENGTH = 4096;

/**
 * Flags that name files or directories: absolute paths, so what they point at is never a
 * surprise. Each with an example that fits it, for the error.
 */
const PATH_FLAGS: Record<string, string> = {
  socket: '/tmp/me/rstudio.sock',
  'runtime-dir': '/tmp/rsp-me',
  rserver: '/usr/lib/rstudio-server/bin/rserver',
  r: '/usr/bin/R',
  'token-file': '"$HOME/.rstudio-token"',
  'slurm-job': '/home/me/.local/state/rsession-proxy/slurm/default',
};

// Parses `--name=value` / `--name value` flags strictly: unknown flags, missing values and
// stray arguments are usage errors with one line saying what is wrong and what to do.
export function parseFlags(command: string, argv: readonly string[], spec: FlagSpec): ParsedFlags {
  const separator = argv.indexOf('--');
  const own = separator < 0 ? [...argv] : argv.slice(0, separator);
  const rest = separator < 0 ? [] : argv.slice(separator + 1);
  let parsed;
  try {
    parsed = parseArgs({
      args: own,
      options: { ...spec, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(
      `${command}: ${describeParseError(error as Error & { code?: string })} (see \`${command} --help\`)`,
    );
  }
  for (const [name, value] of Object.entries(parsed.values)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item === 'string') validateText(command, name, item);
    }
  }
  return { values: parsed.values, rest };
}

function describeParseError(error: Error & { code?: string }): string {
  const option = /'(-[^' ]+)/.exec(error.message)?.[1];
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(error.message)
        ? `${option ?? 'an option'} needs a value (${option ?? '--option'}=VALUE)`
        : `${option ?? 'an option'} does not take a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec(error.message)?.[1] ?? ''}; rserver arguments go after --`;
    default:
      return error.message;
  }
}

// Every value: not empty, not huge, no control characters (NUL, newlines) that could cut or
// forge paths, headers and log lines.
function validateText(command: string, name: string, value: string): void {
  if (value.trim() === '')
    throw new UsageError(`${command}: --${name} needs a value, got an empty one`);
  if (value.length > MAX_VALUE_LENGTH)
    throw new UsageError(
      `${command}: --${name} is too long (${value.length} characters; at most ${MAX_VALUE_LENGTH})`,
    );
  if (hasControlCharacters(value))
    throw new UsageError(
      `${command}: --${name} contains a control character (newline, NUL…); remove it`,
    );
  const example = PATH_FLAGS[name];
  if (example !== undefined && !isPlainAbsolutePath(value)) {
    // The shell expands `~` only at the start of a word: in `--token-file=~/x` it stays.
    const tilde = value.startsWith('~')
      ? `; the shell does not expand ~ after "=": write --${name} ${value} or --${name}=$HOME${value.slice(1)}`
      : '';
    throw new UsageError(
      `${command}: --${name} needs an absolute path without . or .. parts (e.g. --${name}=${example}), got ${JSON.stringify(value)}${tilde}`,
    );
  }
}

export function getString(flags: ParsedFlags, name: string): string | undefined {
  const value = flags.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function getBoolean(flags: ParsedFlags, name: string): boolean {
  return flags.values[name] === true;
}

// The options a command's flags set, each parsed as its environment variable would be (the
// library's table: docs/cli.md#environment), with errors naming the flag.
export function readFlagSettings(flags: ParsedFlags): Partial<Settings> {
  const settings: Partial<Record<keyof Settings, unknown>> = {};
  for (const { flag, option } of ENVIRONMENT_VARIABLES) {
    if (flag === undefined || settings[option] !== undefined) continue;
    const value = flags.values[flag.slice(2)];
    if (typeof value === 'string') settings[option] = parseSetting(option, value, flag);
    else if (Array.isArray(value)) {
      settings[option] = value.flatMap((item) => parseSetting(option, item, flag));
    }
  }
  return settings as Partial<Settings>;
}
