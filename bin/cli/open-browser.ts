import { spawn } from 'node:child_process';
import type { Reporter } from './reporter.js';

// The program that opens a URL in the user's browser here, or why there is none: on Linux only
// with a display (an ssh session to a login node has none), on macOS always.
export function getBrowserOpener(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): { command: string } | { problem: string } {
  if (platform === 'darwin') return { command: 'open' };
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) {
    return { problem: 'no display here (DISPLAY and WAYLAND_DISPLAY are unset)' };
  }
  return { command: 'xdg-open' };
}

// --open: starts the browser on the URL and lets it run on its own; a failure is a warning,
// since the URL is printed anyway.
export function openBrowser(url: string, env: NodeJS.ProcessEnv, reporter: Reporter): void {
  const opener = getBrowserOpener(env);
  if ('problem' in opener) {
    reporter.warn(`--open: ${opener.problem}; open the URL above yourself`);
    return;
  }
  const child = spawn(opener.command, [url], { env, stdio: 'ignore', detached: true });
  child.once('error', (error) =>
    reporter.warn(
      `--open: cannot run ${opener.command} (${error.message}); open the URL above yourself`,
    ),
  );
  child.once('spawn', () => reporter.info(`opened the URL with ${opener.command}`));
  child.unref();
}
