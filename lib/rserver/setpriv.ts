import { spawnSync } from 'node:child_process';
import { findOnPath } from './find.js';

const setprivSupport = new Map<string, boolean>();

// Whether this setpriv can set a parent-death signal (util-linux 2.33 and later); asked once.
export function supportsPdeathsig(setpriv: string): boolean {
  let supported = setprivSupport.get(setpriv);
  if (supported === undefined) {
    const help = spawnSync(setpriv, ['--help'], { timeout: 5000, encoding: 'utf8' });
    supported = `${help.stdout}${help.stderr}`.includes('--pdeathsig');
    setprivSupport.set(setpriv, supported);
  }
  return supported;
}

// util-linux's setpriv, when it can set a parent-death signal; looked up on PATH, then in /usr/bin.
export function findPdeathsigSetpriv(env: NodeJS.ProcessEnv): string | undefined {
  const setpriv = findOnPath('setpriv', env) ?? findOnPath('setpriv', { PATH: '/usr/bin:/bin' });
  return setpriv !== undefined && supportsPdeathsig(setpriv) ? setpriv : undefined;
}

// Where util-linux's setpriv can set a parent-death signal, rserver is started through it, so
// that rserver gets SIGTERM even when the supervisor is SIGKILLed.
export function getSetprivPrefix(env: NodeJS.ProcessEnv): string[] {
  const setpriv = findPdeathsigSetpriv(env);
  return setpriv ? [setpriv, '--pdeathsig', 'TERM', '--'] : [];
}
