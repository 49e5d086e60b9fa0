/** What the namespace must hold before rserver starts in it (isolation.ts decides what). */
export interface NamespaceSetup {
  /** ip(8), to bring up the loopback of rserver's network namespace; undefined: no network namespace. */
  ip: string | undefined;
  mount: string;
  setpriv: string;
  /**
   * A tmpfs on /tmp (releases up to 2022.07 keep shared files in /tmp/rstudio-server), with
   * these directories of the host's /tmp bound back in (relative to /tmp, as getKeptTmpDirs
   * gives them); undefined: the host's /tmp.
   */
  privateTmp: readonly string[] | undefined;
  /** A file bound over /etc/resolv.conf (the host's names a resolver on its own loopback). */
  resolvConf: string | undefined;
  /** The relay started beside rserver: the command that runs it. */
  relay: readonly string[] | undefined;
}

/** How many words the relay's command has (node, its script, the socket, the port). */
export const RELAY_WORDS = 4;

/**
 * The namespace's second process, which becomes rserver: it has the capabilities the user holds
 * in the user namespace (unshare --keep-caps) and uses them only here, to bring up the loopback,
 * to mount a private /tmp (entered first, so that the host's directories to keep are still
 * reached through the working directory once the tmpfs hides them; `mount -c` passes those
 * relative paths on as they are) and to bind a resolv.conf; then it starts the relay and execs
 * rserver, both without any capability (setpriv), as the plain user. It stays pid 2 of the
 * namespace, as sandbox-processes.ts expects of rserver. A step that fails exits 125 with a
 * line saying which. Arguments: ip or '', mount, setpriv, resolv.conf or '', the number of
 * directories to keep or '-' for the host's /tmp, those directories (relative to /tmp), then
 * `relay` and the relay's words, or `-`, then rserver's command.
 */
export const SETUP_SCRIPT = `ip=$1 mount=$2 setpriv=$3 resolv=$4 keep=$5
shift 5
fail() { echo "rsession-proxy: $*" >&2; exit 125; }
if [ -n "$ip" ]; then
  "$ip" link set lo up || fail "cannot bring up the loopback of rserver's network namespace"
fi
if [ "$keep" != - ]; then
  cd /tmp || fail "cannot enter /tmp"
  "$mount" -t tmpfs -o mode=1777 tmpfs /tmp || fail "cannot mount a private /tmp"
  while [ "$keep" -gt 0 ]; do
    mkdir -p "/tmp/$1" && "$mount" -c --bind "$1" "/tmp/$1" ||
      fail "cannot keep /tmp/$1 in the private /tmp"
    shift
    keep=$((keep - 1))
  done
  cd / || fail "cannot leave /tmp"
fi
if [ -n "$resolv" ]; then
  "$mount" -c --bind "$resolv" /etc/resolv.conf || fail "cannot give the namespace its resolv.conf"
fi
if [ "$1" = relay ]; then
  "$setpriv" --inh-caps=-all --ambient-caps=-all -- "$2" "$3" "$4" "$5" </dev/null &
  shift ${RELAY_WORDS + 1}
else
  shift
fi
exec "$setpriv" --inh-caps=-all --ambient-caps=-all -- "$@"`;

// The directories of the host's /tmp that must stay visible in a private one, relative to
// /tmp: each path given that lies under /tmp, without those inside another one.
export function getKeptTmpDirs(paths: readonly (string | undefined)[]): string[] {
  const under = paths
    .filter((path): path is string => path !== undefined && path.startsWith('/tmp/'))
    .map((path) => path.slice('/tmp/'.length).replace(/\/+$/, ''))
    .filter((path) => path !== '' && !path.split('/').some((part) => part === '..' || part === '.'))
    .sort();
  const kept: string[] = [];
  for (const path of under) {
    if (!kept.some((other) => path === other || path.startsWith(`${other}/`))) kept.push(path);
  }
  return kept;
}

// The setup script's arguments, before rserver's command.
export function buildSetupArgs(setup: NamespaceSetup): string[] {
  const keep =
    setup.privateTmp === undefined ? ['-'] : [String(setup.privateTmp.length), ...setup.privateTmp];
  if (setup.relay !== undefined && setup.relay.length !== RELAY_WORDS) {
    throw new Error(`the relay's command must have ${RELAY_WORDS} words`);
  }
  return [
    setup.ip ?? '',
    setup.mount,
    setup.setpriv,
    setup.resolvConf ?? '',
    ...keep,
    ...(setup.relay === undefined ? ['-'] : ['relay', ...setup.relay]),
  ];
}
