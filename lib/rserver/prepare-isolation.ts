import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InstanceLayout } from '../instance/layout.js';
import type { RServerListen } from './arguments.js';
import { preparePrivateConfigDir } from './config-dir.js';
import { getKeptTmpDirs, type NamespaceSetup } from './namespace-setup.js';
import {
  generatePassword,
  getPasswordFiles,
  removePasswordFiles,
  writePasswordFiles,
} from './password.js';
import { RELAY_MAIN } from './relay-main.js';
import type { ResolvedIsolation } from './resolve-isolation.js';
import { rewriteResolvConf } from './resolv-conf.js';
import type { Sandbox } from './sandbox.js';
import type { SignInCredentials } from './sign-in.js';
import { findFreePort } from './tcp-port.js';

/** The port rserver listens on inside its network namespace: nothing else is there. */
export const NAMESPACE_PORT = 8787;

/**
 * This package's root, which the relay runs from; the same from the CLI's bundle, which is two
 * levels below dist/ too.
 */
const PACKAGE_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export interface PrepareInput {
  resolved: ResolvedIsolation;
  sandbox: Sandbox;
  layout: InstanceLayout;
  env: NodeJS.ProcessEnv;
  user: { name: string };
  /** rserver and R, which must stay visible in a private /tmp. */
  rserver: string;
  r: string | undefined;
}

/** What one launch needs for its isolation, written to the instance's private directory. */
export interface PreparedIsolation {
  listen: RServerListen;
  /** The sign-in helper, and the credentials it accepts; undefined for a socket (auth-none). */
  signInHelper: string | undefined;
  credentials: SignInCredentials | undefined;
  /** RSTUDIO_CONFIG_DIR for the 2026.05-2026.07 session-rpc-key regression. */
  configDir: string | undefined;
  /** What the namespace must hold before rserver starts; undefined: nothing to set up. */
  setup: NamespaceSetup | undefined;
  /** The host's port rserver listens on (isolation `password`): the relay and the owner check use it. */
  hostPort: number | undefined;
  /** Removes what was written for this launch (the password above all). */
  cleanup(): Promise<void>;
}

// The resolv.conf for a namespace connected by slirp4netns, when the host's names only resolvers
// on its own loopback; its path, or undefined when the host's will do.
async function writeResolvConf(layout: InstanceLayout): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile('/etc/resolv.conf', 'utf8');
  } catch {
    text = '';
  }
  const rewritten = rewriteResolvConf(text);
  if (rewritten === undefined) return undefined;
  const path = join(layout.dir, 'resolv.conf');
  await writeFile(path, rewritten, { mode: 0o644 });
  return path;
}

// Everything under /tmp that rserver must still see in a private one: the instance's
// directories, the cookie key's, rserver's, R's, Node's and this package's (for the relay), and
// TMPDIR.
function getKeptPaths(input: PrepareInput): string[] {
  const { layout, env } = input;
  const installDir = (path: string | undefined) =>
    path === undefined ? undefined : dirname(dirname(path));
  return getKeptTmpDirs([
    layout.dir,
    dirname(layout.cookieKeyFile),
    installDir(input.rserver),
    installDir(input.r),
    installDir(process.execPath),
    PACKAGE_ROOT,
    env.TMPDIR,
  ]);
}

// Writes what the isolation level needs and says how rserver must be started for it: the
// password and its helper (0600 and 0700, in the private directory), the private configuration
// directory, the namespace's setup, the port.
export async function prepareIsolation(input: PrepareInput): Promise<PreparedIsolation> {
  const { resolved, sandbox, layout } = input;
  const { isolation, needs, namespaces } = resolved;
  const written: string[] = [];
  const passwordFiles = getPasswordFiles(layout.dir);
  const cleanup = async () => {
    await removePasswordFiles(passwordFiles);
    for (const path of written) await rm(path, { recursive: true, force: true });
  };
  try {
    let credentials: SignInCredentials | undefined;
    if (isolation.password) {
      credentials = { username: input.user.name, password: generatePassword() };
      await writePasswordFiles(passwordFiles, credentials.password);
      // A fresh cookie key each launch (rserver writes one where none is): a session cookie
      // that an earlier launch signed, wherever it went, signs nobody in to this one. The
      // adapter signs the browser in again when rserver asks.
      await rm(layout.cookieKeyFile, { force: true });
    }
    let configDir: string | undefined;
    if (needs.rpcKeyInConfigDir) {
      configDir = join(layout.dir, 'etc');
      written.push(configDir);
      await preparePrivateConfigDir(configDir, input.env);
    }
    const needsSetup = isolation.network || isolation.privateTmp;
    let setup: NamespaceSetup | undefined;
    if (needsSetup) {
      if (sandbox.setpriv === undefined || namespaces.mount === undefined) {
        throw new Error('the namespace setup needs setpriv and mount');
      }
      const resolvConf = isolation.outbound ? await writeResolvConf(layout) : undefined;
      if (resolvConf !== undefined) written.push(resolvConf);
      setup = {
        ip: isolation.network ? namespaces.ip : undefined,
        mount: namespaces.mount,
        setpriv: sandbox.setpriv,
        privateTmp: isolation.privateTmp ? getKeptPaths(input) : undefined,
        resolvConf,
        relay: isolation.network
          ? [process.execPath, RELAY_MAIN, layout.socketPath, String(NAMESPACE_PORT)]
          : undefined,
      };
    }
    const hostPort = isolation.level === 'password' ? await findFreePort() : undefined;
    const listen: RServerListen =
      isolation.level === 'socket'
        ? { socketPath: layout.socketPath }
        : { address: '127.0.0.1', port: hostPort ?? NAMESPACE_PORT };
    return {
      listen,
      signInHelper: credentials === undefined ? undefined : passwordFiles.helper,
      credentials,
      configDir,
      setup,
      hostPort,
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
