// The demo as `npm start` runs it: on a machine without RStudio Server, the test double on a
// port of this machine with a token; the URL it prints opens, the tunnel command points at the
// same port, and the stop advice it prints (naming the instance) stops it. --open starts the
// browser with the URL, and says why when it cannot.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getBrowserOpener } from '../../bin/cli/open-browser.js';
import { CliProcess, getServeUrl, makeCliEnv, runCli, runPrintedStop } from '../helpers/cli.js';
import { fetchText } from '../helpers/fetch-text.js';
import { waitUntil } from '../helpers/proc.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const { root, runtimeDir, env } = makeCliEnv();
// No RStudio Server on this PATH (nor in its install paths on a test machine).
const noRServer: NodeJS.ProcessEnv = {
  ...env,
  PATH: `${join(process.execPath, '..')}:/usr/bin:/bin`,
};

// `npm start` without its build step (the suite runs from the build already made).
function getStartCommand(): string {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const [build, command] = pkg.scripts.start.split(' && ');
  assert.equal(build, 'npm run build --silent');
  assert.ok(command);
  return command;
}

describe('npm start: the demo', () => {
  test('listens on 127.0.0.1 with a token; what it prints works as printed', async () => {
    // In the repository, as npm runs it.
    const demo = new CliProcess([], noRServer, [
      'sh',
      ['-c', `cd '${REPO}' && ${getStartCommand()}`],
    ]);
    try {
      // stdout (the URLs) and stderr (the advice) are separate pipes: wait for both.
      const line = await demo.waitFor(/stop with Ctrl-C or `rsession-proxy stop/);
      await demo.waitFor(/^ {2}ssh -N -L /);
      assert.match(demo.stderr, /DEMO: RStudio Server is not used/);
      assert.match(demo.stderr, /rserver 2024\.12\.1\+563 \(Test Double\)/);
      const url = getServeUrl(demo.stdout);
      assert.ok(url);
      assert.equal(url.hostname, '127.0.0.1');
      assert.equal(Buffer.from(url.searchParams.get('token') ?? '', 'base64url').length, 32);
      assert.equal((await fetchText(url.href)).status, 302, 'the printed URL opens');
      assert.match(
        demo.stdout,
        new RegExp(`\\n {2}ssh -N -L 8787:127\\.0\\.0\\.1:${url.port} \\S+@\\S+\\n`),
      );
      // The runtime directory was chosen (by the environment), so the advice names it too: it
      // then works from a shell that has not set it.
      const { command, result } = await runPrintedStop(line, env);
      assert.equal(command, `rsession-proxy stop --instance=demo --runtime-dir=${runtimeDir}`);
      assert.ok(result);
      assert.equal(result.code, 0, result.stderr);
      assert.equal((await demo.exited).code, 0, demo.stderr);
    } finally {
      // sh does not pass a signal on to the serve it started: stop that by its instance.
      if (demo.child.exitCode === null) await runCli(['stop', '--instance=demo'], env);
    }
  });

  test('--open runs xdg-open with the URL when there is a display', async () => {
    const bin = join(root, 'fake-bin');
    const opened = join(root, 'opened');
    mkdirSync(bin);
    // A stand-in browser opener that records what it was asked to open.
    writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`, {
      mode: 0o755,
    });
    const demo = new CliProcess(['serve', '--demo', '--open', '--instance=open'], {
      ...noRServer,
      PATH: `${bin}:${noRServer.PATH ?? ''}`,
      DISPLAY: ':0',
    });
    try {
      await demo.waitFor(/opened the URL with xdg-open/);
      // The URL comes through stdout, a pipe of its own.
      await demo.waitFor(/^ {2}http:\/\/127\.0\.0\.1:/);
      const url = getServeUrl(demo.stdout);
      assert.ok(url);
      await waitUntil(
        () => {
          try {
            return readFileSync(opened, 'utf8') === url.href;
          } catch {
            return false;
          }
        },
        10_000,
        'xdg-open got the URL',
      );
    } finally {
      assert.equal((await demo.stop()).code, 0, demo.stderr);
    }
  });

  test('--open without a display, or with a Unix listener: a warning, and serve runs', async () => {
    const headless = { ...noRServer };
    delete headless.DISPLAY;
    delete headless.WAYLAND_DISPLAY;
    const demo = new CliProcess(['serve', '--demo', '--open', '--instance=headless'], headless);
    try {
      await demo.waitFor(/--open: no display here/);
    } finally {
      assert.equal((await demo.stop()).code, 0, demo.stderr);
    }
    const unix = new CliProcess(
      [
        'serve',
        '--demo',
        '--open',
        '--instance=unix-open',
        `--listen=unix:${join(root, 'u.sock')}`,
      ],
      { ...noRServer, DISPLAY: ':0' },
    );
    try {
      await unix.waitFor(/--open: a browser cannot open a Unix socket/);
    } finally {
      assert.equal((await unix.stop()).code, 0, unix.stderr);
    }
  });

  test('getBrowserOpener: macOS always, Linux only with a display', () => {
    assert.deepEqual(getBrowserOpener({}, 'darwin'), { command: 'open' });
    assert.deepEqual(getBrowserOpener({ DISPLAY: ':1' }, 'linux'), { command: 'xdg-open' });
    assert.deepEqual(getBrowserOpener({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux'), {
      command: 'xdg-open',
    });
    assert.ok('problem' in getBrowserOpener({}, 'linux'));
  });
});
