import { RSessionProxyError } from '../errors.js';
import type { NamespaceSupport } from './namespace-detect.js';
import { formatRelease, type ReleaseNeeds } from './release.js';

/**
 * What keeps other users of the host away from rserver (docs/security.md):
 * - `socket`: rserver listens on a Unix socket in a directory only the user can enter
 *   (`--www-socket`, RStudio Server 2024.12.0 and later);
 * - `namespace`: rserver listens on 127.0.0.1 inside a network namespace of its own, which no
 *   other process can connect into; a relay in the namespace exposes that port as a Unix socket
 *   in the private directory, and a per-launch password guards the sign-in as well;
 * - `password`: rserver listens on 127.0.0.1 of the host, which every local user can reach; only
 *   the per-launch password keeps them out.
 */
export type IsolationLevel = 'socket' | 'namespace' | 'password';

/** What a launch may ask for: a level, or `auto` for the strongest this rserver and host allow. */
export type IsolationOption = 'auto' | IsolationLevel;

export const ISOLATION_OPTIONS: readonly IsolationOption[] = [
  'auto',
  'socket',
  'namespace',
  'password',
];

/** The isolation a launch is given, and what it takes. */
export interface Isolation {
  level: IsolationLevel;
  /** One line: what keeps other users out. */
  description: string;
  /** What the user must be told at start (and `doctor` shows): weaker protection, no network. */
  warnings: readonly string[];
  /** rserver runs in a network namespace (with the relay). */
  network: boolean;
  /** R reaches the outside through slirp4netns (namespace only). */
  outbound: boolean;
  /** rserver gets a tmpfs on /tmp of its own (releases up to 2022.07). */
  privateTmp: boolean;
  /** rserver signs in with the password (--auth-none=0), not as $USER. */
  password: boolean;
}

export interface IsolationFacts {
  /** This rserver's --help lists --www-socket. */
  hasWwwSocket: boolean;
  version: string | undefined;
  needs: ReleaseNeeds;
  namespaces: NamespaceSupport;
}

// Validates the option once, with the values it may take.
export function validateIsolationOption(value: unknown, source = 'isolation'): IsolationOption {
  if (typeof value === 'string' && (ISOLATION_OPTIONS as readonly string[]).includes(value)) {
    return value as IsolationOption;
  }
  throw new RSessionProxyError(
    'EINVALIDOPTION',
    `Expected ${source === 'isolation' ? 'the `isolation` option' : source} to be one of ${ISOLATION_OPTIONS.join(', ')}, got ${JSON.stringify(value)}.`,
  );
}

function refuse(message: string, hint: string): RSessionProxyError {
  return new RSessionProxyError('EISOLATION', message, { hint });
}

// The release's name for messages: what --version said, or that it said nothing useful.
function describeRelease(facts: IsolationFacts): string {
  const { release } = facts.needs;
  return release === undefined
    ? `this rserver (its release is unknown: --version printed ${JSON.stringify(facts.version ?? '')})`
    : `RStudio Server ${formatRelease(release)}`;
}

// The level: what was asked for, or for `auto` the socket where rserver has one, else the
// namespace where the host allows it, else the password alone.
function chooseLevel(requested: IsolationOption, facts: IsolationFacts): IsolationLevel {
  const { networkProblem } = facts.namespaces;
  if (requested === 'socket' && !facts.hasWwwSocket) {
    throw refuse(
      `--isolation=socket needs an rserver that listens on a Unix socket (--www-socket, RStudio Server 2024.12.0 and later); ${describeRelease(facts)} has no --www-socket.`,
      'Install RStudio Server 2024.12.0 or newer, or choose --isolation=namespace (or auto, which says what it chose).',
    );
  }
  if (requested === 'namespace' && networkProblem !== undefined) {
    throw refuse(
      `--isolation=namespace needs a network namespace of rserver's own, which this host does not allow: ${networkProblem}.`,
      'Enable unprivileged user namespaces (user.max_user_namespaces > 0) and install util-linux 2.38 or newer and iproute2, or choose --isolation=password (every user of the host can then reach the port; only a password keeps them out).',
    );
  }
  if (requested !== 'auto') return requested;
  if (facts.hasWwwSocket) return 'socket';
  return networkProblem === undefined ? 'namespace' : 'password';
}

// What the levels promise, in one line each.
const DESCRIPTIONS: Record<IsolationLevel, string> = {
  socket:
    'socket: rserver listens on a Unix socket in a directory only you can enter (--www-socket)',
  namespace:
    'namespace: rserver listens on 127.0.0.1 in a network namespace of its own, reached only through a Unix socket in a directory only you can enter; a per-launch password that nobody sees guards its sign-in too',
  password:
    'password: rserver listens on a port of 127.0.0.1 that every user of this host can connect to; only a per-launch password that nobody sees keeps them out',
};

// Decides the isolation of one launch from what was asked, what this rserver can do and what
// this host allows; refuses (EISOLATION) rather than give less than was asked for.
export function chooseIsolation(requested: IsolationOption, facts: IsolationFacts): Isolation {
  const level = chooseLevel(requested, facts);
  const { namespaces, needs } = facts;
  const warnings: string[] = [];
  const privateTmp = level !== 'socket' && needs.sharedTmp;
  if (privateTmp && namespaces.privateTmpProblem !== undefined) {
    throw refuse(
      `${describeRelease(facts)} keeps its session-rpc-key in /tmp/rstudio-server, which every user of this host shares (a second user's rserver is refused, and another user can plant the file); rsession-proxy runs it only with a private /tmp, which this host does not allow: ${namespaces.privateTmpProblem}.`,
      'Use RStudio Server 2022.12 or newer, or enable unprivileged user namespaces (util-linux 2.38 or newer).',
    );
  }
  if (level === 'password') {
    warnings.push(
      `rserver listens on a port of 127.0.0.1 that every user of this host can connect to; only a per-launch password (never shown, never in a command line) keeps them out${requested === 'auto' ? ` (no network namespace here: ${namespaces.networkProblem ?? 'unknown'})` : ''}.`,
    );
  }
  const outbound = level === 'namespace' && namespaces.outboundProblem === undefined;
  if (level === 'namespace' && !outbound) {
    warnings.push(
      `R will not reach the internet: install slirp4netns, or use --isolation=password (${namespaces.outboundProblem ?? 'unknown'}).`,
    );
  }
  const description =
    level === 'namespace'
      ? `${DESCRIPTIONS.namespace}; ${outbound ? 'R reaches the network through slirp4netns' : 'R has no network'}`
      : DESCRIPTIONS[level];
  return {
    level,
    description: privateTmp ? `${description}; /tmp is private to it` : description,
    warnings,
    network: level === 'namespace',
    outbound,
    privateTmp,
    password: level !== 'socket',
  };
}
