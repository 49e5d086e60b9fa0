import { findOnPath } from './find.js';
import { runBriefly } from './run-briefly.js';

const setprivSupport = new Map<string, Promise<boolean>>();

// Whether this setpriv can set a parent-death signal (util-linux 2.33 and later); asked once.
function supportsPdeathsig(setpriv: string): Promise<boolean> {
  let supported = setprivSupport.get(setpriv);
  if (supported === undefined) {
    supported = runBriefly(setpriv, ['--help'], 5000).then((help) =>
      help.all.includes('--pdeathsig'),
    );
    setprivSupport.set(setpriv, supported);
  }
  return supported;
}

// util-linux's setpriv, when it can set a parent-death signal; looked up on PATH, then in /usr/bin.
export async function findPdeathsigSetpriv(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const setpriv = findOnPath('setpriv', env) ?? findOnPath('setpriv', { PATH: '/usr/bin:/bin' });
  return setpriv !== undefined && (await supportsPdeathsig(setpriv)) ? setpriv : undefined;
}

// `setpriv --pdeathsig <signal> --`: what runs after it gets `signal` when the thread that
// started it ends, the supervisor SIGKILLed included.
export function buildPdeathsigPrefix(setpriv: string, signal: 'TERM' | 'KILL'): string[] {
  return [setpriv, '--pdeathsig', signal, '--'];
}
