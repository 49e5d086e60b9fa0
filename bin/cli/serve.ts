import { hostname, userInfo } from 'node:os';
import { readSetting, serve, type ServeHandle, type ServeOptions } from '../../lib/index.js';
import { formatBanner, type Banner } from './banner.js';
import type { Command, CommandContext } from './command.js';
import { getDemoOptions } from './demo.js';
import { EXIT, UsageError } from './exit-codes.js';
import { getBoolean, readFlagSettings, type ParsedFlags } from './flags.js';
import { SERVE_HELP } from './help.js';
import { commonLaunchFlags, launchOptionsFrom } from './launch-flags.js';
import { openBrowser } from './open-browser.js';
import type { Reporter } from './reporter.js';
import { waitForShutdownSignal } from './signals.js';

const NAME = 'rsession-proxy serve';

/** serve's flags but --demo and --open; `slurm` takes them too. */
export const FRONT_FLAGS = {
  listen: { type: 'string' },
  prefix: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  'no-token': { type: 'boolean' },
  instance: { type: 'string' },
  'idle-timeout': { type: 'string' },
  'allow-host': { type: 'string', multiple: true },
  'trust-proxy': { type: 'boolean' },
  ...commonLaunchFlags,
} as const;

// serve's options from its flags; the library adds the environment's (flags win) and checks
// every value, the token rules included. `command` names serve, or slurm, which serves too.
export function getServeOptions(
  flags: ParsedFlags,
  env: NodeJS.ProcessEnv,
  command = NAME,
): ServeOptions {
  const noToken = getBoolean(flags, 'no-token');
  const given = ['token', 'token-file'].filter((name) => flags.values[name] !== undefined);
  if (given.length + (noToken ? 1 : 0) > 1) {
    throw new UsageError(
      `${command}: --${[...given, ...(noToken ? ['no-token'] : [])].join(' and --')} cannot be combined; choose one`,
    );
  }
  const settings = readFlagSettings(flags);
  return {
    ...launchOptionsFrom(settings, flags, env),
    instance: settings.instance,
    listen: settings.listen,
    prefix: settings.prefix,
    token: noToken ? false : settings.token,
    tokenFile: settings.tokenFile,
    allowHosts: settings.allowHosts,
    trustProxy: getBoolean(flags, 'trust-proxy'),
    idleTimeout: settings.idleTimeout,
  };
}

// --token puts the token on the command line, where `ps` shows it to everyone.
export function warnAboutTokenFlag(flags: ParsedFlags, reporter: Reporter): void {
  if (flags.values.token === undefined) return;
  reporter.warn(
    '--token is visible to every user on this host in `ps`; prefer --token-file or RSESSION_PROXY_TOKEN',
  );
}

// Where serve listens, and the commands to reach it (stdout); returns the banner, whose stop
// advice the caller prints when it fits.
export function announceListener(
  handle: ServeHandle,
  reporter: Reporter,
  stdout: NodeJS.WritableStream,
): Banner {
  const { listener, layout } = handle;
  reporter.done(
    'path' in listener
      ? `listening on ${listener.path} (mode 0600, in a directory only you can enter)`
      : `listening on ${listener.host}:${listener.port}`,
  );
  const banner = formatBanner({
    listener,
    url: handle.url,
    instance: layout.name,
    runtimeDir:
      layout.base.source === 'option' || layout.base.source === 'RSESSION_PROXY_RUNTIME_DIR'
        ? layout.base.path
        : undefined,
    user: userInfo().username,
    host: hostname(),
  });
  stdout.write(banner.stdout);
  return banner;
}

// RStudio behind the authenticated front until a signal: prints how to open it (and, with
// --open, opens it), then stops everything it started.
async function runServe(flags: ParsedFlags, { io, reporter }: CommandContext): Promise<number> {
  const given = getServeOptions(flags, io.env);
  const demoMode = getBoolean(flags, 'demo') ? 'on' : (readSetting(io.env, 'demo')?.value ?? 'off');
  const listenChosen = given.listen !== undefined || readSetting(io.env, 'listen') !== undefined;
  const demo = getDemoOptions(given, demoMode, listenChosen);
  if (demo) {
    reporter.warn(
      'DEMO: RStudio Server is not used; the rserver test double stands in for it (see docs/cli.md).',
    );
  }
  warnAboutTokenFlag(flags, reporter);
  const shutdown = waitForShutdownSignal();
  try {
    const handle = await serve({ ...(demo ?? given), logger: reporter.log });
    const banner = announceListener(handle, reporter, io.stdout);
    reporter.info(banner.stop);
    if (getBoolean(flags, 'open')) {
      if ('path' in handle.listener) {
        reporter.warn(
          '--open: a browser cannot open a Unix socket; open the URL above through the tunnel',
        );
      } else openBrowser(handle.url, io.env, reporter);
    }
    const signal = await shutdown.signal;
    reporter.step(`${signal}: stopping`);
    await handle.close();
    reporter.done('stopped; nothing left behind');
    return EXIT.ok;
  } finally {
    shutdown.dispose();
  }
}

export const serveCommand: Command = {
  name: 'serve',
  flags: { ...FRONT_FLAGS, demo: { type: 'boolean' }, open: { type: 'boolean' } },
  help: SERVE_HELP,
  run: runServe,
};
