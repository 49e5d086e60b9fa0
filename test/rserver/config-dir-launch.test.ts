// The 2026.05 session-rpc-key workaround does not change the session's configuration: rserver is
// sent to a private RSTUDIO_CONFIG_DIR, which its rsession inherits and reads rsession.conf from,
// so the launcher links the site's files there. Launched for real against the double, the
// session reports the rsession.conf it read: the site's settings, with the workaround (the site's
// files found through XDG_CONFIG_DIRS, or through an RSTUDIO_CONFIG_DIR of the user's) as without
// it (a release that does not need it reads the site's file directly).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { launchRServer, type RServerProcess } from '../../lib/index.js';
import { cookieHeader, cookieJar, httpRequest } from '../helpers/http-client.js';
import { makeLaunchEnv } from '../helpers/launch-env.js';
import { makeVariantWriter } from '../helpers/rserver-double.js';

const { root, options } = makeLaunchEnv();
const variant = makeVariantWriter(root);
const AFFECTED = {
  RSERVER_DOUBLE_RELEASE: '2026.05.0+100',
  RSERVER_DOUBLE_FAIL: 'session-rpc-key',
};
const UNAFFECTED = { RSERVER_DOUBLE_RELEASE: '2025.09.1+401' };

// A site configuration directory `<root>/<name>/rstudio` whose rsession.conf has settings no
// default has; returns the directory and the settings.
function writeSiteConfig(name: string): { dir: string; settings: Record<string, string> } {
  const dir = join(root, name, 'rstudio');
  mkdirSync(dir, { recursive: true });
  const settings = { 'session-timeout-minutes': '17', 'r-libs-user': `~/${name}-libs` };
  const lines = Object.entries(settings).map(([key, value]) => `${key}=${value}`);
  writeFileSync(join(dir, 'rsession.conf'), `# the site's\n${lines.join('\n')}\n`);
  writeFileSync(join(dir, 'logging.conf'), '[*]\nlog-level=warn\n');
  return { dir, settings };
}

// The launcher's environment with the site's configuration found through `site`.
function envWith(site: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...options.env, ...site };
  if (site.RSTUDIO_CONFIG_DIR === undefined) delete env.RSTUDIO_CONFIG_DIR;
  if (site.XDG_CONFIG_DIRS === undefined) delete env.XDG_CONFIG_DIRS;
  return env;
}

interface SessionConfig {
  configFile: string;
  exists: boolean;
  settings: Record<string, string>;
}

// Signs in (auth-none: the session starts) and asks the session which rsession.conf it read.
async function readSessionConfig(rserver: RServerProcess): Promise<SessionConfig> {
  const target = { socketPath: rserver.socketPath };
  const signIn = await httpRequest(target, {
    path: '/auth-sign-in?appUri=%2F',
    headers: { Host: 'h' },
  });
  assert.equal(signIn.status, 302);
  const jar = cookieJar(signIn.headers);
  const answer = await httpRequest(target, {
    method: 'POST',
    path: '/rpc/session_config',
    headers: {
      Host: 'h',
      Cookie: cookieHeader(jar),
      'X-RS-CSRF-Token': jar.get('rs-csrf-token') ?? '',
      'Content-Type': 'application/json',
    },
    body: '{"method":"session_config","params":[]}',
    timeoutMs: 20_000,
  });
  assert.equal(answer.status, 200, answer.body.toString());
  const reply = JSON.parse(answer.body.toString()) as { result?: SessionConfig };
  assert.ok(reply.result, answer.body.toString());
  return reply.result;
}

// Launches `rserver` with `env`, reads the session's configuration, stops it.
async function launchAndRead(
  instance: string,
  rserver: string,
  env: NodeJS.ProcessEnv,
): Promise<{ config: SessionConfig; instanceDir: string }> {
  const launched = await launchRServer({ ...options, env, instance, rserver });
  try {
    return { config: await readSessionConfig(launched), instanceDir: launched.instance.dir };
  } finally {
    await launched.stop();
  }
}

describe("the session's configuration with and without the 2026.05 workaround", () => {
  test('2026.05 with the site in XDG_CONFIG_DIRS: the session reads the site’s rsession.conf through the private directory', async () => {
    const site = writeSiteConfig('xdg-site');
    const { config, instanceDir } = await launchAndRead(
      'xdg',
      await variant(AFFECTED),
      envWith({ XDG_CONFIG_DIRS: join(root, 'xdg-site') }),
    );
    assert.equal(config.configFile, join(instanceDir, 'etc', 'rsession.conf'), 'the workaround');
    assert.equal(config.exists, true);
    assert.deepEqual(config.settings, site.settings);
  });

  test('2026.05 with an RSTUDIO_CONFIG_DIR of the user’s: its files, through the private directory', async () => {
    const site = writeSiteConfig('own-site');
    // RSTUDIO_CONFIG_DIR alone counts, as for rserver: XDG_CONFIG_DIRS's files are not linked.
    writeSiteConfig('decoy-site');
    const { config, instanceDir } = await launchAndRead(
      'own',
      await variant(AFFECTED),
      envWith({ RSTUDIO_CONFIG_DIR: site.dir, XDG_CONFIG_DIRS: join(root, 'decoy-site') }),
    );
    assert.equal(config.configFile, join(instanceDir, 'etc', 'rsession.conf'));
    assert.deepEqual(config.settings, site.settings);
  });

  test('a release without the workaround reads the same settings from the site’s file itself', async () => {
    const site = writeSiteConfig('plain-site');
    const { config } = await launchAndRead(
      'plain',
      await variant(UNAFFECTED),
      envWith({ XDG_CONFIG_DIRS: join(root, 'plain-site') }),
    );
    assert.equal(config.configFile, join(site.dir, 'rsession.conf'));
    assert.equal(config.exists, true);
    assert.deepEqual(config.settings, site.settings);
  });
});
