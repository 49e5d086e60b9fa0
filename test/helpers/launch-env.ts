import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LaunchOptions } from '../../lib/index.js';
import { FAKE_R, RSERVER_DOUBLE } from './rserver-double.js';
import { makeTempDir } from './temp.js';

export interface LaunchEnv {
  /** A private temp directory for this test file. */
  root: string;
  /** Options that run the double with temp runtime and state directories. */
  options: LaunchOptions & { env: NodeJS.ProcessEnv };
}

// Everything a launch needs, isolated in a temp directory: the runtime base, the persistent
// state (env-paths reads XDG_DATA_HOME from process.env, so it is set there for this file).
export function makeLaunchEnv(): LaunchEnv {
  const root = makeTempDir('rsp-');
  const dataHome = join(root, 'data');
  mkdirSync(dataHome, { mode: 0o700 });
  process.env.XDG_DATA_HOME = dataHome;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_DATA_HOME: dataHome,
    RSESSION_PROXY_RUNTIME_DIR: join(root, 'rt'),
  };
  return { root, options: { rserver: RSERVER_DOUBLE, r: FAKE_R, env, timeout: 15_000 } };
}
