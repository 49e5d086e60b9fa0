export interface KnownFailure {
  /** A short name for the failure, for logs and tests. */
  kind: string;
  /** The rserver line that was recognised. */
  line: string;
  /** One line saying what it means and what to do. */
  hint: string;
}

const KNOWN: { kind: string; pattern: RegExp; hint: (match: RegExpMatchArray) => string }[] = [
  {
    // unshare's own failure, when the namespace it made at detection cannot be made again (the
    // user's user.max_user_namespaces reached by other instances, a policy changed meanwhile).
    kind: 'namespace',
    pattern:
      /^unshare: (unshare failed|write failed \/proc\/self\/[ug]id_map|mount \/proc failed|cannot change root filesystem propagation)/,
    hint: () =>
      "rserver could not be put in a PID namespace of its own: raise user.max_user_namespaces, or keep unshare off rsession-proxy's PATH to have the watchdog end rserver's processes instead (rsession-proxy doctor).",
  },
  {
    // Releases up to 2022.07 keep the key in a /tmp/rstudio-server that every user shares. Those
    // that `--version` names get a private /tmp (or are refused), so this is a build whose
    // version line names no release, with the host's /tmp.
    kind: 'shared-tmp-key',
    pattern: /Permission denied\) \[path: (\/tmp\/rstudio-server\/[^\]\s]*)/,
    hint: (m) =>
      `rserver cannot use ${m[1] ?? '/tmp/rstudio-server'}, in the /tmp that every user of this host shares, where releases up to 2022.07 keep their keys and another user's rserver came first. rsession-proxy gives those releases a private /tmp, but only when \`--version\` names one of them: use such a build, or RStudio Server 2022.12 or newer.`,
  },
  {
    // Seen only when the workaround was not made (config-dir.ts): it is made for the releases
    // that `--version` names, so this is a build whose version line names none.
    kind: 'session-rpc-key',
    pattern: /Permission denied\) \[path: ([^\]\s]*session-rpc-key)/,
    hint: (m) =>
      `RStudio Server 2026.05 run as an ordinary user cannot read the root-owned ${m[1] ?? 'session-rpc-key'} (a regression of 2026.05.0 to 2026.07.x, fixed in 2026.08.0). rsession-proxy avoids it with a session-rpc-key of its own in a private RSTUDIO_CONFIG_DIR, but only for an rserver whose \`--version\` names one of those releases: use such a build, or RStudio Server 2026.08 or newer, or ask an administrator to make the file readable to you.`,
  },
  {
    kind: 'server-user',
    pattern: /Attempt to run server as user '([^']*)'.*from account '([^']*)'/,
    hint: (m) =>
      `rserver was asked to run as '${m[1] ?? ''}' while running as '${m[2] ?? ''}': without root it can only run as you. Remove any server-user setting from the extra arguments.`,
  },
  {
    kind: 'file-name-too-long',
    pattern: /File name too long/,
    hint: () =>
      'A socket path rserver uses is longer than the 107 bytes Unix allows: choose a shorter runtime directory (--runtime-dir) or socket path.',
  },
  {
    kind: 'r-not-found',
    pattern: /Unable to determine real path of R script (\S+)/,
    hint: (m) =>
      `R was not found (rserver looked for ${m[1] ?? 'R'}): install R, or point --r (RSTUDIO_WHICH_R) at the R executable.`,
  },
  {
    kind: 'unrecognised-option',
    pattern: /unrecognised option '([^']*)'/,
    hint: (m) =>
      `This rserver does not know ${m[1] ?? 'an option'}: remove it from the extra arguments, or use a newer RStudio Server.`,
  },
  {
    kind: 'missing-argument',
    pattern: /the required argument for option '([^']*)' is missing/,
    hint: (m) => `${m[1] ?? 'An option'} needs a value (booleans too: ${m[1] ?? '--option'}=1).`,
  },
  {
    kind: 'config-file',
    pattern: /Unable to open config file: (\S+)/,
    hint: (m) => `The config file ${m[1] ?? ''} given to rserver does not exist.`,
  },
  {
    kind: 'same-site',
    pattern: /Invalid SameSite option: (\S*)/,
    hint: () => '--www-same-site accepts only "none" or "lax".',
  },
  {
    kind: 'permission-denied',
    pattern: /system error 13 \(Permission denied\) \[path: ([^\]\s]+)/,
    hint: (m) =>
      `rserver cannot write ${m[1] ?? 'one of its paths'}: it runs as you, so every directory it uses must be yours (rsession-proxy puts them in the private instance directory; check extra arguments and /etc/rstudio/rserver.conf).`,
  },
];

// Recognises the failures RSERVER.md lists in rserver's last lines and says what they mean.
// The most specific match wins, whichever line it is on.
export function explainRServerFailure(lines: readonly string[]): KnownFailure | undefined {
  for (const known of KNOWN) {
    for (const line of lines) {
      const match = line.match(known.pattern);
      if (match) return { kind: known.kind, line: line.trim(), hint: known.hint(match) };
    }
  }
  return undefined;
}
