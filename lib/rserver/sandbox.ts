import { constants } from 'node:os';
import { SETUP_SCRIPT, buildSetupArgs, type NamespaceSetup } from './namespace-setup.js';
import { buildPdeathsigPrefix } from './setpriv.js';

/**
 * What ends rserver and everything it started when the supervisor dies, SIGKILL included:
 * - `pid-namespace`: rserver runs in a PID namespace of its own (util-linux `unshare`, in a user
 *   namespace so that no privilege is needed); when its first process ends, the kernel kills
 *   every process in it, and that first process ends with unshare, which ends with the
 *   supervisor (setpriv's parent-death signal);
 * - `watchdog`: where user namespaces are not available, a small shell process waits on a pipe
 *   from the supervisor and, when the pipe closes without a word, ends every process carrying
 *   the instance marker.
 */
export type SandboxKind = 'pid-namespace' | 'watchdog';

export interface Sandbox {
  kind: SandboxKind;
  /** One line for the log and `doctor`: what is in force, and why the namespace is not. */
  description: string;
  /** Why there is no PID namespace (the watchdog only). */
  problem?: string | undefined;
  setpriv: string | undefined;
  unshare: string | undefined;
}

/**
 * The namespaces rserver gets: a user namespace mapping only the user to themselves (no
 * privilege needed, the same uid and gid inside), a PID namespace whose first process is forked
 * by unshare and SIGKILLed when unshare dies, and a mount namespace only for a /proc that shows
 * the namespace's own pids (R packages read /proc/<getpid()>); `slave` keeps mounts the host
 * makes later (autofs, NFS) visible inside. Every flag is in util-linux 2.35 and later;
 * sandbox-detect.ts uses them only where unshare passes signals on as 2.38 does.
 */
export const NAMESPACE_FLAGS = [
  '--user',
  '--map-current-user',
  '--pid',
  '--fork',
  '--kill-child',
  '--mount-proc',
  '--propagation',
  'slave',
] as const;

/**
 * Added when the namespace needs setting up (namespace-setup.ts): the capabilities the user has
 * in the user namespace kept across exec (util-linux 2.38), for the setup script alone.
 */
export const PRIVILEGED_NAMESPACE_FLAGS = ['--keep-caps'] as const;

/** Added for a network namespace of rserver's own (isolation `namespace`). */
export const NETWORK_NAMESPACE_FLAGS = ['--net'] as const;

/** $0 of the namespace's first process, as `ps` shows it. */
const INIT_NAME = 'rsession-proxy-init';

/**
 * The namespace's first process. rserver cannot be it: PID 1 of a namespace ignores every
 * signal it has no handler for, and rserver answers SIGTERM by restoring the default action and
 * raising it again, which PID 1 then ignores. So a shell is PID 1 and runs rserver in the
 * foreground (the shell takes no signals itself: the supervisor signals rserver directly). When
 * rserver ends, it gives what rserver left (rsessions, re-parented to it) SIGTERM and up to $1
 * tenths of a second, and exits with rserver's status, which unshare passes on; the kernel
 * then SIGKILLs whatever is still there. $2 is the instance marker (NAME=value): only rserver
 * and what it starts carry it.
 */
export const INIT_SCRIPT = `grace=$1
export "$2"
shift 2
"$@"
status=$?
if kill -TERM -1 2>/dev/null; then
  i=0
  while [ "$i" -lt "$grace" ] && kill -0 -1 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
fi
exit "$status"`;

export interface SandboxedCommand {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface SandboxInput {
  env: NodeJS.ProcessEnv;
  marker: string;
  grace: number;
  /** What the namespace must hold before rserver starts (a network, a private /tmp, the relay). */
  setup?: NamespaceSetup | undefined;
}

// unshare's flags: the PID namespace always; with a setup, the capabilities it needs and, for a
// relay, the network namespace.
function getNamespaceFlags(setup: NamespaceSetup | undefined): string[] {
  if (setup === undefined) return [...NAMESPACE_FLAGS];
  return [
    ...NAMESPACE_FLAGS,
    ...PRIVILEGED_NAMESPACE_FLAGS,
    ...(setup.ip === undefined ? [] : NETWORK_NAMESPACE_FLAGS),
  ];
}

// The command line and environment that start `command` (rserver and its arguments) in the
// sandbox. `env` carries the marker; in the namespace only rserver gets it (through the init
// script), so that the marker finds rserver and what it started, not the wrappers.
export function buildSandboxedCommand(
  sandbox: Sandbox,
  command: readonly string[],
  { env, marker, grace, setup }: SandboxInput,
): SandboxedCommand {
  const prefix: string[] = [];
  let wrapperEnv = env;
  if (sandbox.kind === 'pid-namespace' && sandbox.unshare && sandbox.setpriv) {
    const markerEntry = `${marker}=${env[marker] ?? ''}`;
    wrapperEnv = Object.fromEntries(Object.entries(env).filter(([name]) => name !== marker));
    prefix.push(
      // unshare blocks SIGTERM while it waits for its child, so its death signal is SIGKILL.
      ...buildPdeathsigPrefix(sandbox.setpriv, 'KILL'),
      sandbox.unshare,
      ...getNamespaceFlags(setup),
      '--',
      '/bin/sh',
      '-c',
      INIT_SCRIPT,
      INIT_NAME,
      String(Math.ceil(grace / 100)),
      markerEntry,
    );
    if (setup !== undefined) {
      prefix.push('/bin/sh', '-c', SETUP_SCRIPT, 'rsession-proxy-setup', ...buildSetupArgs(setup));
    }
  } else if (setup !== undefined) {
    throw new Error('a namespace setup needs the PID namespace');
  } else if (sandbox.setpriv) {
    // rserver itself gets SIGTERM when the supervisor dies; the watchdog ends the rest.
    prefix.push(...buildPdeathsigPrefix(sandbox.setpriv, 'TERM'));
  }
  const [file = '', ...args] = [...prefix, ...command];
  return { file, args, env: wrapperEnv };
}

const signalNames = new Map(
  Object.entries(constants.signals).map(([name, number]) => [number, name] as const),
);

// How rserver ended, from how the process the launcher spawned ended. In the namespace that
// process is unshare, which passes on the init script's exit status: a shell's 128 + n for a
// command killed by signal n.
export function decodeSandboxExit(
  kind: SandboxKind,
  code: number | null,
  signal: string | null,
): { code: number | null; signal: string | null } {
  if (kind !== 'pid-namespace' || signal !== null || code === null || code <= 128) {
    return { code, signal };
  }
  const name = signalNames.get(code - 128);
  return name === undefined ? { code, signal } : { code: null, signal: name };
}
