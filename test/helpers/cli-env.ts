import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './temp.js';

// An environment for the command with its own runtime and state directories, and nothing of
// the caller's RSESSION_PROXY_* settings.
export function makeCliEnv(prefix = 'rsp-cli-'): { root: string; env: NodeJS.ProcessEnv } {
  const root = makeTempDir(prefix);
  mkdirSync(join(root, 'data'), { mode: 0o700 });
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('RSESSION_PROXY_') && !key.startsWith('RSERVER_')) env[key] = value;
  }
  return {
    root,
    env: {
      ...env,
      RSESSION_PROXY_RUNTIME_DIR: join(root, 'rt'),
      XDG_DATA_HOME: join(root, 'data'),
    },
  };
}
