import { hostname, userInfo } from 'node:os';
import { readSetting, serve, type ServeOptions } from '../../lib/index.js';
import { formatBanner } from './banner.js';
import type { Command, CommandContext } from './command.js';
import { getDemoOptions } from './demo.js';
import { EXIT, UsageError } from './exit-codes.js';
import { getBoolean, readFlagSettings, type ParsedFlags } from './flags.js';
import { SERVE_HELP } from './help.js';
import { commonLaunchFlags, launchOptionsFrom } from './launch-flags.js';
import { openBrowser } from './open-browser.js';
import { waitForShutdownSignal } from './signals.js';

const NAME = 'rsession-proxy serve';

// serve's options from its flags; the library adds the environment's (flags win) and checks
// every value, the token rules included.
function getServeOptions(flags: ParsedFlags, env: NodeJS.ProcessEnv): ServeOptions {
  const noToken = getBoolean(flags, 'no-token');
  const given = ['token', 'token-file'].filter((name) => flags.values[name] !== undefined);
  if (given.length + (noToken ? 1 : 0) > 1) {
    throw new UsageError(
      `${NAME}: --${[...given, ...(noToken ? ['no-token'] : [])].join(' and --')} cannot be combined; choose one`,
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
    idleTimeout: settings.idleTimeout,
  };
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
  if (flags.values.token !== undefined) {
    reporter.warn(
      '--token is visible to every user on this host in `ps`; prefer --token-file or RSESSION_PROXY_TOKEN',
    );
  }
  const shutdown = waitForShutdownSignal();
  try {
    const handle = await serve({ ...(demo ?? given), logger: reporter.log });
    const { listener, supervisor } = handle;
    const base = supervisor.layout.base;
    reporter.done(
      'path' in listener
        ? `listening on ${listener.path} (mode 0600, in a directory only you can enter)`
        : `listening on ${listener.host}:${listener.port}`,
    );
    const banner = formatBanner({
      listener,
      url: handle.url,
      instance: supervisor.layout.name,
      runtimeDir:
        base.source === 'option' || base.source === 'RSESSION_PROXY_RUNTIME_DIR'
          ? base.path
          : undefined,
      user: userInfo().username,
      host: hostname(),
    });
    io.stdout.write(banner.stdout);
    reporter.info(banner.stop);
    if (getBoolean(flags, 'open')) {
      if ('path' in listener) {
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
  flags: {
    listen: { type: 'string' },
    prefix: { type: 'string' },
    token: { type: 'string' },
    'token-file': { type: 'string' },
    'no-token': { type: 'boolean' },
    instance: { type: 'string' },
    'idle-timeout': { type: 'string' },
    'allow-host': { type: 'string', multiple: true },
    demo: { type: 'boolean' },
    open: { type: 'boolean' },
    ...commonLaunchFlags,
  },
  help: SERVE_HELP,
  run: runServe,
};
