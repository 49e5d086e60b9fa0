// The one table of the environment variables rsession-proxy reads: which option each sets, the
// CLI flag that wins over it, how its text is parsed, and the error that names it. Every entry
// point reads them through here (the instance, launch and serve normalizers, the doctor, the
// CLI), so that none honours a variable another ignores. docs/cli.md#environment lists them.
import { RSessionProxyError, isRSessionProxyError } from './errors.js';
import { validateInstanceName } from './instance/name.js';
import { normalizeRootPath } from './url-prefix.js';
import { validateFrameOrigin } from './rserver/frame-origin.js';
import { validateIsolationOption, type IsolationOption } from './rserver/isolation.js';
import { validateAllowHost } from './serve/host-guard.js';
import { parseListenSpec, type ListenSpec } from './serve/listen.js';
import { validateToken } from './serve/token.js';
import { hasControlCharacters } from './validate.js';

/** What the CLI's own variables ask for: the test double always, when no rserver is found, never. */
export type DemoMode = 'on' | 'auto' | 'off';
export type LogFormat = 'text' | 'json';

/** Every value a variable (or its flag) can set, by option name. */
export interface Settings {
  instance: string;
  runtimeDir: string;
  rserver: string;
  r: string;
  /** In ms (the variable and the flag say seconds). */
  timeout: number;
  frameOrigin: string;
  threadPoolSize: number;
  isolation: IsolationOption;
  listen: ListenSpec;
  prefix: string;
  token: string;
  tokenFile: string;
  allowHosts: string[];
  /** In ms (the variable and the flag say minutes). */
  idleTimeout: number;
  logFormat: LogFormat;
  demo: DemoMode;
}

/** Who reads a variable: the normalizer of that part of the library, or the CLI alone. */
export type VariableScope = 'instance' | 'launch' | 'serve' | 'cli';

type VariableOf<K extends keyof Settings> = {
  readonly name: string;
  readonly option: K;
  /** The flag that wins over it; undefined for a variable kept from jupyter-rsession-proxy. */
  readonly flag: string | undefined;
  readonly scope: VariableScope;
  /** What it holds, for docs/cli.md. */
  readonly holds: string;
  /** The text as the option's value; throws EINVALIDOPTION naming `source`. */
  readonly parse: (text: string, source: string) => Settings[K];
};

export type EnvironmentVariable = { [K in keyof Settings]: VariableOf<K> }[keyof Settings];

const MAX_TEXT = 4096;
const MAX_TIMEOUT_SECONDS = 3600;
const MAX_IDLE_MINUTES = 7 * 24 * 60;

function invalid(source: string, expected: string, text: string): RSessionProxyError {
  return new RSessionProxyError(
    'EINVALIDOPTION',
    `Expected ${source} to be ${expected}, got ${JSON.stringify(text)}.`,
  );
}

// Text that can be a path or a name: not blank, not huge, no control characters.
function parseText(text: string, source: string): string {
  if (text.trim() === '' || text.length > MAX_TEXT || hasControlCharacters(text)) {
    throw invalid(source, 'a path or a name without control characters', text);
  }
  return text;
}

// A positive decimal number of `unit`s up to `max`, scaled to ms.
function parseDuration(unit: string, max: number, msPerUnit: number) {
  return (text: string, source: string): number => {
    const value = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text) || !(value > 0) || value > max) {
      throw invalid(source, `a number of ${unit} greater than 0 and at most ${max}`, text);
    }
    return Math.max(1, Math.round(value * msPerUnit));
  };
}

function parseThreadPoolSize(text: string, source: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > 1024) {
    throw invalid(source, 'an integer from 1 to 1024', text);
  }
  return value;
}

// A validator of the library's, with its message restated to name the variable or flag.
function naming<T>(validate: (text: string) => T) {
  return (text: string, source: string): T => {
    const checked = parseText(text, source);
    try {
      return validate(checked);
    } catch (error) {
      if (!isRSessionProxyError(error, 'EINVALIDOPTION')) throw error;
      throw new RSessionProxyError(
        'EINVALIDOPTION',
        `${source}=${JSON.stringify(text)} is not valid: ${error.message}`,
        { cause: error },
      );
    }
  };
}

// serve's prefix, with its trailing slash, in an error that names the flag or variable.
function parsePrefix(text: string, source: string): string {
  return normalizeRootPath(text, source);
}

function parseLogFormat(text: string, source: string): LogFormat {
  if (text === 'text' || text === 'json') return text;
  throw invalid(source, 'text or json', text);
}

function parseDemo(text: string, source: string): DemoMode {
  if (text === 'auto') return 'auto';
  if (text === '1' || text === 'true') return 'on';
  if (text === '0' || text === 'false') return 'off';
  throw invalid(source, '1, true, auto, 0 or false', text);
}

/**
 * Every variable, in order of precedence where two set one option (the first set wins). Options
 * and flags win over all of them.
 */
export const ENVIRONMENT_VARIABLES: readonly EnvironmentVariable[] = [
  {
    name: 'RSESSION_PROXY_INSTANCE',
    option: 'instance',
    flag: '--instance',
    scope: 'instance',
    holds: 'an instance name (ignored when a socket is given)',
    parse: naming(validateInstanceName),
  },
  {
    name: 'RSESSION_PROXY_RUNTIME_DIR',
    option: 'runtimeDir',
    flag: '--runtime-dir',
    scope: 'instance',
    holds: 'a directory',
    parse: parseText,
  },
  {
    name: 'RSESSION_PROXY_RSERVER',
    option: 'rserver',
    flag: '--rserver',
    scope: 'launch',
    holds: 'the rserver binary',
    parse: parseText,
  },
  {
    name: 'RSESSION_PROXY_R',
    option: 'r',
    flag: '--r',
    scope: 'launch',
    holds: 'the R executable',
    parse: parseText,
  },
  {
    name: 'RSTUDIO_WHICH_R',
    option: 'r',
    flag: undefined,
    scope: 'launch',
    holds: "the R executable (RStudio's own variable)",
    parse: parseText,
  },
  {
    name: 'RSESSION_PROXY_TIMEOUT',
    option: 'timeout',
    flag: '--timeout',
    scope: 'launch',
    holds: 'seconds',
    parse: parseDuration('seconds', MAX_TIMEOUT_SECONDS, 1000),
  },
  {
    name: 'RSERVER_TIMEOUT',
    option: 'timeout',
    flag: undefined,
    scope: 'launch',
    holds: 'seconds (jupyter-rsession-proxy)',
    parse: parseDuration('seconds', MAX_TIMEOUT_SECONDS, 1000),
  },
  {
    name: 'JUPYTER_RSESSION_PROXY_WWW_FRAME_ORIGIN',
    option: 'frameOrigin',
    flag: undefined,
    scope: 'launch',
    holds: 'none, same, any or an origin (jupyter-rsession-proxy)',
    parse: naming(validateFrameOrigin),
  },
  {
    name: 'JUPYTER_RSESSION_PROXY_THREAD_POOL_SIZE',
    option: 'threadPoolSize',
    flag: undefined,
    scope: 'launch',
    holds: 'an integer (jupyter-rsession-proxy)',
    parse: parseThreadPoolSize,
  },
  {
    name: 'RSESSION_PROXY_ISOLATION',
    option: 'isolation',
    flag: '--isolation',
    scope: 'launch',
    holds: 'auto, socket, namespace or password',
    parse: (text, source) => validateIsolationOption(text, source),
  },
  {
    name: 'RSESSION_PROXY_LISTEN',
    option: 'listen',
    flag: '--listen',
    scope: 'serve',
    holds: 'unix:PATH or HOST:PORT',
    parse: naming(parseListenSpec),
  },
  {
    name: 'RSESSION_PROXY_PREFIX',
    option: 'prefix',
    flag: '--prefix',
    scope: 'serve',
    holds: 'a URL path',
    parse: parsePrefix,
  },
  {
    name: 'RSESSION_PROXY_TOKEN',
    option: 'token',
    flag: '--token',
    scope: 'serve',
    holds: 'the access token',
    parse: (text, source) => validateToken(text, source),
  },
  {
    name: 'RSESSION_PROXY_TOKEN_FILE',
    option: 'tokenFile',
    flag: '--token-file',
    scope: 'serve',
    holds: 'a file holding the token',
    parse: parseText,
  },
  {
    name: 'RSESSION_PROXY_ALLOW_HOSTS',
    option: 'allowHosts',
    flag: '--allow-host',
    scope: 'serve',
    holds: 'host names, comma-separated (the flag is repeated instead)',
    parse: (text, source) =>
      text
        .split(',')
        .filter((host) => host !== '')
        .map((host) => validateAllowHost(host, source)),
  },
  {
    name: 'RSESSION_PROXY_IDLE_TIMEOUT',
    option: 'idleTimeout',
    flag: '--idle-timeout',
    scope: 'serve',
    holds: 'minutes',
    parse: parseDuration('minutes', MAX_IDLE_MINUTES, 60_000),
  },
  {
    name: 'RSESSION_PROXY_LOG_FORMAT',
    option: 'logFormat',
    flag: '--log-format',
    scope: 'cli',
    holds: 'text or json',
    parse: parseLogFormat,
  },
  {
    name: 'RSESSION_PROXY_DEMO',
    option: 'demo',
    flag: '--demo',
    scope: 'cli',
    holds: '1 (the test double), auto (the double when no rserver is found) or 0',
    parse: parseDemo,
  },
];

/** A value from the environment and the variable it came from. */
export interface FromEnvironment<K extends keyof Settings> {
  value: Settings[K];
  variable: string;
}

function variablesOf<K extends keyof Settings>(option: K): VariableOf<K>[] {
  // The table is built so that each entry's parser returns its own option's type.
  return ENVIRONMENT_VARIABLES.filter(
    (v) => v.option === option,
  ) as readonly unknown[] as VariableOf<K>[];
}

// The option's value from the first of its variables that is set (an empty one is unset), with
// the variable's name; undefined when none is.
export function readSetting<K extends keyof Settings>(
  env: NodeJS.ProcessEnv,
  option: K,
): FromEnvironment<K> | undefined {
  for (const variable of variablesOf(option)) {
    const text = env[variable.name];
    if (text === undefined || text === '') continue;
    return { value: variable.parse(text, variable.name), variable: variable.name };
  }
  return undefined;
}

// Every option of one scope that the environment sets, parsed; options it does not set are
// absent, so that `{ ...readEnvironment(env, scope), ...given }` lets given options win.
export function readEnvironment(env: NodeJS.ProcessEnv, scope: VariableScope): Partial<Settings> {
  const settings: Partial<Record<keyof Settings, unknown>> = {};
  const options = new Set(
    ENVIRONMENT_VARIABLES.filter((v) => v.scope === scope).map((v) => v.option),
  );
  for (const option of options) {
    const found = readSetting(env, option);
    if (found !== undefined) settings[option] = found.value;
  }
  return settings as Partial<Settings>;
}

// A flag's text parsed as its variable's would be, the error naming the flag: the CLI's flags
// and the environment share one parser per option.
export function parseSetting<K extends keyof Settings>(
  option: K,
  text: string,
  flag: string,
): Settings[K] {
  const [variable] = variablesOf(option);
  if (variable === undefined) throw new TypeError(`No setting named ${option}`);
  return variable.parse(text, flag);
}
