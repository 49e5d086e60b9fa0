import { hostname, userInfo } from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  findRServer,
  isRSessionProxyError,
  normalizeRootPath,
  parseListenSpec,
  readTokenFile,
  serve,
  validateAllowHost,
  validateInstanceName,
  validateToken,
  type ListenSpec,
  type ServeHandle,
  type ServeOptions,
} from '../../lib/index.js';
import { EXIT, UsageError } from './exit-codes.js';
import {
  getBoolean,
  getString,
  getStrings,
  parseFlags,
  parsePositiveNumber,
  type ParsedFlags,
} from './flags.js';
import { commonLaunchFlags, commonLaunchOptions } from './launch-flags.js';
import type { Reporter } from './reporter.js';
import { waitForShutdownSignal } from './signals.js';

/** serve's flags but --demo; `slurm` takes them too. */
export const FRONT_FLAGS = {
  listen: { type: 'string' },
  prefix: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  'no-token': { type: 'boolean' },
  instance: { type: 'string' },
  'idle-timeout': { type: 'string' },
  'allow-host': { type: 'string', multiple: true },
  ...commonLaunchFlags,
} as const;

export const SERVE_FLAGS = {
  ...FRONT_FLAGS,
  demo: { type: 'boolean' },
} as const;

const COMMAND = 'rsession-proxy serve';

/** The rserver test double and the stand-in for R, used by --demo (only in a clone). */
export const DEMO_RSERVER = fileURLToPath(
  new URL('../../../test/fixtures/bin/rserver', import.meta.url),
);
const DEMO_R = fileURLToPath(new URL('../../../test/fixtures/bin/R', import.meta.url));

export function parseServeFlags(argv: readonly string[]): ParsedFlags {
  return parseFlags(COMMAND, argv, SERVE_FLAGS);
}

function usage(message: string, command = COMMAND): UsageError {
  return new UsageError(`${command}: ${message}`);
}

// Flags, then RSESSION_PROXY_*; the token from --token, --token-file, RSESSION_PROXY_TOKEN,
// RSESSION_PROXY_TOKEN_FILE, or a new one. `command` names serve, or slurm, which serves too.
export async function buildServeOptions(
  flags: ParsedFlags,
  env: NodeJS.ProcessEnv,
  command = COMMAND,
): Promise<ServeOptions> {
  const listenText = getString(flags, 'listen') ?? (env.RSESSION_PROXY_LISTEN || undefined);
  const listen: ListenSpec | undefined =
    listenText === undefined ? undefined : parseListenSpec(listenText);
  const tokenSources = ['token', 'token-file', 'no-token'].filter(
    (name) => flags.values[name] !== undefined,
  );
  if (tokenSources.length > 1)
    throw usage(`--${tokenSources.join(' and --')} cannot be combined; choose one`, command);
  let token: string | false | undefined;
  if (getBoolean(flags, 'no-token')) token = false;
  else if (getString(flags, 'token') !== undefined)
    token = validateToken(getString(flags, 'token') ?? '', '--token');
  else if (getString(flags, 'token-file') !== undefined)
    token = await readTokenFile(getString(flags, 'token-file') ?? '');
  else if (env.RSESSION_PROXY_TOKEN)
    token = validateToken(env.RSESSION_PROXY_TOKEN, 'RSESSION_PROXY_TOKEN');
  else if (env.RSESSION_PROXY_TOKEN_FILE)
    token = await readTokenFile(env.RSESSION_PROXY_TOKEN_FILE);
  if (token === false && listen !== undefined && !('path' in listen)) {
    throw usage(
      '--no-token is only allowed with a Unix socket listener (--listen=unix:PATH): every user on the host can connect to a TCP port',
      command,
    );
  }
  const idleMinutes = parsePositiveNumber(
    command,
    'idle-timeout',
    getString(flags, 'idle-timeout') ?? (env.RSESSION_PROXY_IDLE_TIMEOUT || undefined),
    'minutes',
    7 * 24 * 60,
  );
  const allowHosts = [
    ...getStrings(flags, 'allow-host'),
    ...(env.RSESSION_PROXY_ALLOW_HOSTS ?? '').split(',').filter(Boolean),
  ];
  for (const host of allowHosts) validateAllowHost(host, '--allow-host');
  const instance = getString(flags, 'instance') ?? (env.RSESSION_PROXY_INSTANCE || undefined);
  const prefix = getString(flags, 'prefix') ?? (env.RSESSION_PROXY_PREFIX || undefined);
  return {
    ...commonLaunchOptions(command, flags, env),
    instance: instance === undefined ? undefined : validateInstanceName(instance),
    prefix: prefix === undefined ? undefined : normalizeRootPath(prefix),
    listen,
    token,
    allowHosts,
    idleTimeout: idleMinutes === undefined ? undefined : idleMinutes * 60_000,
    extraArgs: flags.rest,
  };
}

// --demo, or `npm start` (--demo=auto) on a machine without rserver: the rserver test double.
function applyDemo(
  options: ServeOptions,
  demo: 'on' | 'auto' | 'off',
  reporter: Reporter,
): ServeOptions {
  if (demo === 'off') return options;
  if (demo === 'auto') {
    try {
      findRServer({ rserver: options.rserver, env: options.env });
      return options;
    } catch (error) {
      if (!isRSessionProxyError(error, 'ERSERVERNOTFOUND')) throw error;
    }
  }
  if (!existsSync(DEMO_RSERVER)) {
    throw usage(
      '--demo needs a clone of the repository (the rserver test double is not published with the package)',
    );
  }
  reporter.warn(
    'DEMO: RStudio Server is not used; the rserver test double stands in for it (see docs/cli.md).',
  );
  return { ...options, rserver: DEMO_RSERVER, r: DEMO_R, instance: options.instance ?? 'demo' };
}

export function warnAboutTokenFlag(flags: ParsedFlags, reporter: Reporter): void {
  if (getString(flags, 'token') !== undefined) {
    reporter.warn(
      '--token is visible to every user on this host in `ps`; prefer --token-file or RSESSION_PROXY_TOKEN',
    );
  }
}

// Where serve listens, and how to get there: the ssh tunnel to a Unix listener, or the URL.
export function announceListener(
  handle: ServeHandle,
  reporter: Reporter,
  stdout: NodeJS.WritableStream,
): void {
  const { listener } = handle;
  if ('path' in listener) {
    reporter.done(`listening on ${listener.path} (mode 0600, in a directory only you can enter)`);
    stdout.write(
      [
        'From your laptop, open a tunnel to this socket (no TCP port is opened on this host):',
        `  ssh -N -L 8787:${listener.path} ${userInfo().username}@${hostname()}`,
        'then open:',
        `  ${handle.url}`,
        '',
      ].join('\n'),
    );
  } else {
    reporter.done(`listening on ${listener.host}:${listener.port}`);
    stdout.write(`Open:\n  ${handle.url}\n`);
  }
}

export async function runServe(
  flags: ParsedFlags,
  env: NodeJS.ProcessEnv,
  reporter: Reporter,
  stdout: NodeJS.WritableStream,
  demo: 'on' | 'auto' | 'off',
): Promise<number> {
  const options = applyDemo(
    await buildServeOptions(flags, env),
    getBoolean(flags, 'demo') ? 'on' : demo,
    reporter,
  );
  warnAboutTokenFlag(flags, reporter);
  const shutdown = waitForShutdownSignal();
  try {
    const handle = await serve({ ...options, logger: reporter.log });
    announceListener(handle, reporter, stdout);
    reporter.info('rserver starts on the first request; stop with Ctrl-C or `rsession-proxy stop`');
    const signal = await shutdown.signal;
    reporter.step(`${signal}: stopping`);
    await handle.close();
    reporter.done('stopped; nothing left behind');
    return EXIT.ok;
  } finally {
    shutdown.dispose();
  }
}
