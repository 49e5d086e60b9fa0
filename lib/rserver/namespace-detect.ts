import { accessSync, constants } from 'node:fs';
import { findOnPath } from './find.js';
import { runBriefly } from './run-briefly.js';
import { NAMESPACE_FLAGS, PRIVILEGED_NAMESPACE_FLAGS } from './sandbox.js';
import { detectSandbox } from './sandbox-detect.js';

/** What the namespaces of this host allow beyond the PID namespace, each with why not. */
export interface NamespaceSupport {
  /** mount(8), for a private /tmp; ip(8), for the namespace's loopback. */
  mount: string | undefined;
  ip: string | undefined;
  /** Why rserver cannot get a tmpfs on /tmp of its own here; undefined when it can. */
  privateTmpProblem: string | undefined;
  /** Why rserver cannot get a network namespace of its own here; undefined when it can. */
  networkProblem: string | undefined;
  /** slirp4netns, when it can connect a namespace to the outside. */
  slirp4netns: string | undefined;
  /** Why R in the namespace would have no network; undefined when slirp4netns can give it one. */
  outboundProblem: string | undefined;
}

/** Where mount, ip and slirp4netns live when they are not on the user's PATH (sbin often is not). */
const TOOL_PATH = '/usr/sbin:/sbin:/usr/bin:/bin';

/** The tun device slirp4netns opens inside the namespace: it needs read and write access. */
export const TUN_DEVICE = '/dev/net/tun';

/**
 * Run once in the namespaces, with the capabilities the user has there (--keep-caps): a tmpfs on
 * /tmp (exit 3 if refused) and, with an ip given, the loopback brought up (4, 5). $1 mount,
 * $2 ip or ''.
 */
const CHECK_SCRIPT = `"$1" -t tmpfs -o mode=1777 tmpfs /tmp 2>/dev/null || exit 3
[ -z "$2" ] && exit 0
"$2" link set lo up 2>/dev/null || exit 4
exit 0`;

// A tool on PATH, else in the system directories.
function findTool(name: string, env: NodeJS.ProcessEnv): string | undefined {
  return findOnPath(name, env) ?? findOnPath(name, { PATH: TOOL_PATH });
}

const detected = new Map<string, Promise<NamespaceSupport>>();

// Decides once per set of tools found (cached) whether rserver can have a private /tmp and a
// network namespace here, and whether slirp4netns can connect that namespace outside.
export async function detectNamespaces(env: NodeJS.ProcessEnv): Promise<NamespaceSupport> {
  const sandbox = await detectSandbox(env);
  const tools = {
    mount: findTool('mount', env),
    ip: findTool('ip', env),
    slirp4netns: findTool('slirp4netns', env),
  };
  const outboundProblem = getOutboundProblem(tools.slirp4netns);
  if (sandbox.kind !== 'pid-namespace' || sandbox.unshare === undefined) {
    const why = `no PID namespace (${sandbox.problem ?? 'unknown'})`;
    return { ...tools, privateTmpProblem: why, networkProblem: why, outboundProblem };
  }
  const { unshare } = sandbox;
  const key = [unshare, tools.mount, tools.ip].join('\0');
  let support = detected.get(key);
  if (support === undefined) {
    support = checkNamespaces(unshare, tools.mount, tools.ip).then((problems) => ({
      ...tools,
      ...problems,
      outboundProblem,
    }));
    detected.set(key, support);
  }
  const found = await support;
  // slirp4netns is looked up each time: installing it needs no restart.
  return { ...found, slirp4netns: tools.slirp4netns, outboundProblem };
}

// Runs the check in the namespaces, with a network namespace and without (a host may refuse
// only that one), and says what each refusal means.
async function checkNamespaces(
  unshare: string,
  mount: string | undefined,
  ip: string | undefined,
): Promise<Pick<NamespaceSupport, 'privateTmpProblem' | 'networkProblem'>> {
  if (mount === undefined) {
    const why = 'no mount(8) found';
    return { privateTmpProblem: why, networkProblem: ip === undefined ? 'no ip(8) found' : why };
  }
  const run = (net: boolean) =>
    runBriefly(
      unshare,
      [
        ...NAMESPACE_FLAGS,
        ...PRIVILEGED_NAMESPACE_FLAGS,
        ...(net ? ['--net'] : []),
        '--',
        '/bin/sh',
        '-c',
        CHECK_SCRIPT,
        'rsession-proxy-check',
        mount,
        net ? (ip ?? '') : '',
      ],
      5000,
    );
  const describe = (result: Awaited<ReturnType<typeof run>>): string | undefined => {
    if (result.exitCode === 0) return undefined;
    if (result.exitCode === 3) return `${mount} cannot mount a tmpfs in the namespace`;
    if (result.exitCode === 4) return `${ip ?? 'ip'} cannot bring up the namespace's loopback`;
    const said = result.all.trim().split('\n')[0] ?? '';
    return `${unshare} cannot make the namespaces${said ? `: ${said}` : ''}${result.timedOut ? ' (timed out)' : ''}`;
  };
  if (ip !== undefined) {
    const withNet = describe(await run(true));
    if (withNet === undefined) return { privateTmpProblem: undefined, networkProblem: undefined };
    const privateTmpProblem = describe(await run(false));
    return { privateTmpProblem, networkProblem: withNet };
  }
  return {
    privateTmpProblem: describe(await run(false)),
    networkProblem: 'no ip(8) found (install iproute2)',
  };
}

// slirp4netns must be there and able to open the tun device as this user.
function getOutboundProblem(slirp4netns: string | undefined): string | undefined {
  if (slirp4netns === undefined) return 'no slirp4netns found';
  try {
    accessSync(TUN_DEVICE, constants.R_OK | constants.W_OK);
    return undefined;
  } catch {
    return `slirp4netns cannot open ${TUN_DEVICE} as this user`;
  }
}
