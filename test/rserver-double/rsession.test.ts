// rsession as rserver starts it: its arguments, HOME and USER from the password database, the
// variables rserver adds (RS_SESSION_SERVER_RPC_SECRET among them), --rsession-path, and the
// rsession.conf it reads — from the system configuration directory, which RSTUDIO_CONFIG_DIR
// replaces: a launcher that points RSTUDIO_CONFIG_DIR at a private directory without making the
// site's files visible there changes the session's configuration, and this shows it.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { processStat, waitUntil } from '../helpers/proc.js';
import { RSESSION_DOUBLE, findSessionPids, readProcessEnv } from '../helpers/rserver-double.js';
import {
  callRpc,
  makeLayout,
  makeOwnedDir,
  signInNone,
  startDouble,
  type Layout,
  type RunningDouble,
} from './harness.js';

interface ConfigAnswer {
  result: { configFile: string; exists: boolean; settings: Record<string, string> };
}

// The rsession the double started (its child).
async function findSession(layout: Layout, double: RunningDouble): Promise<number> {
  let pid = -1;
  await waitUntil(
    () => {
      pid =
        findSessionPids(layout.dir).find(
          (candidate) => processStat(candidate)?.ppid === double.child.pid,
        ) ?? -1;
      return pid > 0;
    },
    10_000,
    'rsession to start',
  );
  return pid;
}

// A site configuration (XDG_CONFIG_DIRS=<dir>) with an rsession.conf.
function makeSite(layout: Layout): string {
  const site = join(layout.dir, 'site');
  mkdirSync(join(site, 'rstudio'), { recursive: true });
  writeFileSync(
    join(site, 'rstudio', 'rsession.conf'),
    '# the site\nr-libs-user=/site/R/library\n',
  );
  return site;
}

describe('rsession', () => {
  test('HOME and USER from the password database; the secret and sockets rserver gives it', async () => {
    const layout = makeLayout();
    const me = userInfo();
    const config = makeOwnedDir(layout, 'etc');
    writeFileSync(join(config, 'session-rpc-key'), 'the-shared-secret', { mode: 0o600 });
    const double = await startDouble(layout, {
      signInUser: me.username,
      env: {
        HOME: '/nonexistent/home',
        RSTUDIO_CONFIG_DIR: config,
        XDG_CACHE_HOME: layout.dir,
        R_LIBS_USER: '/from/rserver',
        RSESSION_PROXY_MARKER: 'a-launcher-marker',
      },
    });
    await signInNone(double);
    const env = readProcessEnv(await findSession(layout, double));
    assert.equal(env.HOME, me.homedir, 'HOME from the password database, not rserver’s');
    assert.equal(env.USER, me.username);
    assert.equal(env.LOGNAME, me.username);
    assert.equal(env.RS_SESSION_TMP_DIR, join(layout.dataDir, 'rstudio-rsession'));
    assert.equal(
      env.RS_SERVER_RPC_SOCKET_PATH,
      join(layout.dataDir, 'rstudio-rserver', 'session-server-rpc.socket'),
    );
    assert.equal(env.RSTUDIO_VERSION, '2024.12.1+563');
    assert.equal(env.RSTUDIO_CONFIG_DIR, config, 'forwarded');
    assert.equal(env.R_LIBS_USER, undefined, 'rserver’s own environment does not pass');
    assert.equal(env.RSESSION_PROXY_MARKER, undefined, 'nor does a launcher’s marker');
    assert.equal(env.XDG_CACHE_HOME, undefined, 'not one of the forwarded XDG variables');
    // Whether the key was read from RSTUDIO_CONFIG_DIR (root) or the user's cache (not root).
    const key =
      process.getuid?.() === 0
        ? 'the-shared-secret'
        : readFileSync(join(layout.dir, 'rstudio', 'session-rpc-key'), 'utf8');
    assert.equal(env.RS_SESSION_SERVER_RPC_SECRET, key);
  });

  test('rsession.conf comes from the site, from RSTUDIO_CONFIG_DIR instead, or from --rsession-config-file', async () => {
    const layout = makeLayout();
    const site = makeSite(layout);
    const read = async (
      env: Record<string, string>,
      args: string[] = [],
    ): Promise<ConfigAnswer['result']> => {
      const other = makeLayout();
      const double = await startDouble(other, { env: { XDG_CONFIG_DIRS: site, ...env }, args });
      const answer = (await callRpc(
        double,
        await signInNone(double),
        'session_config',
      )) as ConfigAnswer;
      await double.stop();
      return answer.result;
    };
    const siteConf = join(site, 'rstudio', 'rsession.conf');
    assert.deepEqual(await read({}), {
      configFile: siteConf,
      exists: true,
      settings: { 'r-libs-user': '/site/R/library' },
    });

    // A private RSTUDIO_CONFIG_DIR without the site's files: the session loses its configuration.
    const bare = makeOwnedDir(layout, 'bare');
    assert.deepEqual(await read({ RSTUDIO_CONFIG_DIR: bare }), {
      configFile: join(bare, 'rsession.conf'),
      exists: false,
      settings: {},
    });
    // The same directory with the site's file made visible there: the configuration is back.
    const visible = makeOwnedDir(layout, 'visible');
    symlinkSync(siteConf, join(visible, 'rsession.conf'));
    assert.deepEqual((await read({ RSTUDIO_CONFIG_DIR: visible })).settings, {
      'r-libs-user': '/site/R/library',
    });

    const explicit = join(layout.dir, 'explicit.conf');
    writeFileSync(explicit, 'session-timeout-minutes=0\n');
    assert.deepEqual(await read({}, [`--rsession-config-file=${explicit}`]), {
      configFile: explicit,
      exists: true,
      settings: { 'session-timeout-minutes': '0' },
    });
  });

  test('--rsession-path runs a wrapper with rsession’s arguments', async () => {
    const layout = makeLayout();
    const seen = join(layout.dir, 'wrapper.args');
    const wrapper = join(layout.dir, 'rsession-wrapper');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nprintf '%s\\n' "$*" > '${seen}'\nexport R_LIBS_USER=/wrapped\nexec '${RSESSION_DOUBLE}' "$@"\n`,
      { mode: 0o755 },
    );
    const double = await startDouble(layout, { args: [`--rsession-path=${wrapper}`] });
    await signInNone(double);
    const session = await findSession(layout, double);
    // Until the wrapper's shell has exec'd rsession, its environment is the shell's own.
    await waitUntil(
      () => readFileSync(`/proc/${session}/cmdline`, 'utf8').includes('rsession.js'),
      10_000,
      'the wrapper to exec rsession',
    );
    const env = readProcessEnv(session);
    assert.equal(env.R_LIBS_USER, '/wrapped');
    assert.equal(readFileSync(seen, 'utf8'), '-u alice\n');
  });
});
