import { findOnPath } from './find.js';
import { runBriefly } from './run-briefly.js';
import { NAMESPACE_FLAGS, type Sandbox } from './sandbox.js';
import { findPdeathsigSetpriv } from './setpriv.js';

/**
 * Run in the namespaces once to see that they can be made here (user namespaces may be
 * disabled: user.max_user_namespaces=0, Ubuntu's AppArmor restriction, a container's seccomp
 * policy), and that unshare's child does not start with SIGINT and SIGTERM ignored (util-linux
 * 2.36 and 2.37 ignore them while waiting and pass that on; rserver, which waits for them with
 * sigwait, would then never see a SIGTERM). Exits 0, or 3 when they are ignored.
 */
const NAMESPACE_CHECK = `while read -r key value; do
  [ "$key" = SigIgn: ] && exit $(( 0x$value & 0x4002 ? 3 : 0 ))
done < /proc/self/status
exit 4`;

const detected = new Map<string, Promise<Sandbox>>();

// Decides once per pair of setpriv and unshare found (cached) which sandbox this host allows:
// the namespace where it can be made, the watchdog otherwise, and says why in one line.
export function detectSandbox(env: NodeJS.ProcessEnv): Promise<Sandbox> {
  return findPdeathsigSetpriv(env).then((setpriv) => {
    // PATH only: a host (or a test) that keeps unshare off PATH gets the watchdog.
    const unshare = findOnPath('unshare', env);
    const key = `${setpriv ?? ''}\0${unshare ?? ''}`;
    let sandbox = detected.get(key);
    if (sandbox === undefined) {
      sandbox = chooseSandbox(setpriv, unshare);
      detected.set(key, sandbox);
    }
    return sandbox;
  });
}

// The namespace when setpriv and unshare are there and the namespace can be made and passes
// signals on; otherwise the watchdog, with the first reason it is not the namespace.
async function chooseSandbox(
  setpriv: string | undefined,
  unshare: string | undefined,
): Promise<Sandbox> {
  const watchdog = (why: string): Sandbox => ({
    kind: 'watchdog',
    description: `a watchdog ends rserver's processes if the supervisor dies (no PID namespace: ${why})`,
    problem: why,
    setpriv,
    unshare,
  });
  if (unshare === undefined) return watchdog('no unshare on PATH');
  if (setpriv === undefined) return watchdog('no setpriv with --pdeathsig');
  const check = await runBriefly(
    unshare,
    [...NAMESPACE_FLAGS, '--', '/bin/sh', '-c', NAMESPACE_CHECK],
    5000,
  );
  if (check.exitCode === 3) {
    return watchdog(
      `${unshare} starts its child with SIGINT and SIGTERM ignored (util-linux before 2.38)`,
    );
  }
  if (check.exitCode !== 0) {
    const said = check.all.trim().split('\n')[0] ?? '';
    return watchdog(
      `${unshare} cannot make the namespaces here${said ? `: ${said}` : ''}${check.timedOut ? ' (timed out)' : ''}`,
    );
  }
  return {
    kind: 'pid-namespace',
    description: `rserver runs in a PID namespace of its own (${unshare}): when it or the supervisor ends, the kernel ends every process in it`,
    setpriv,
    unshare,
  };
}
