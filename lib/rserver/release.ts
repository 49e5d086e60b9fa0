import { RSessionProxyError } from '../errors.js';

/** A release as `--version` names it: `2022.07.2+576 (Spotted Wakerobin) …` → [2022, 7, 2]. */
export type Release = readonly [number, number, number];

/** What the launcher must do differently for one rserver, from its release. */
export interface ReleaseNeeds {
  /** The release, when `--version` (or the install's VERSION file) named one. */
  release: Release | undefined;
  /**
   * Up to 2022.07, rserver keeps its session-rpc-key in a hard-coded /tmp/rstudio-server that
   * every user of the host shares: it needs a private /tmp. Assumed for an rserver without
   * --www-socket whose release is unknown.
   */
  sharedTmp: boolean;
  /**
   * 2026.05.0 to 2026.07.x, run without root, read session-rpc-key from the system configuration
   * directory and then from a root-owned /var/lib/rstudio-server, and fail there: a private
   * RSTUDIO_CONFIG_DIR holding a key of our own is found first.
   */
  rpcKeyInConfigDir: boolean;
}

// The first `x.y.z` of a version line; undefined when it names none.
export function parseRelease(version: string | undefined): Release | undefined {
  const match = /(?:^|\s)v?(\d{1,4})\.(\d{1,4})\.(\d{1,6})(?=$|[\s+.-])/.exec(version ?? '');
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

// Negative, zero or positive, like a sort comparator.
export function compareReleases(a: Release, b: Release): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

export function formatRelease(release: Release): string {
  const [major, minor, patch] = release;
  return major >= 2000
    ? `${major}.${String(minor).padStart(2, '0')}.${patch}`
    : `${major}.${minor}.${patch}`;
}

const FIRST_SUPPORTED: Release = [1, 4, 0];
const USER_CACHE_KEYS: Release = [2022, 12, 0];
const RPC_KEY_REGRESSION: Release = [2026, 5, 0];
const RPC_KEY_FIXED: Release = [2026, 8, 0];

// What a release needs, or the refusal of one older than 1.4: before it the sign-in form has no
// CSRF token, so a sign-in made for the user cannot be told from a forged one.
export function getReleaseNeeds(probe: {
  version: string | undefined;
  options: ReadonlySet<string>;
}): ReleaseNeeds {
  const release = parseRelease(probe.version);
  if (release !== undefined && compareReleases(release, FIRST_SUPPORTED) < 0) {
    throw new RSessionProxyError(
      'ERSERVERTOOOLD',
      `RStudio Server ${formatRelease(release)} is too old: rsession-proxy supports 1.4 and later (before 1.4 rserver's sign-in form has no CSRF token, so a sign-in made on your behalf could be forged by any web page).`,
      { hint: 'Use RStudio Server 1.4 or newer (2024.12.0 or newer listens on a Unix socket).' },
    );
  }
  const between = (from: Release, to: Release) =>
    release !== undefined &&
    compareReleases(release, from) >= 0 &&
    compareReleases(release, to) < 0;
  return {
    release,
    sharedTmp:
      !probe.options.has('www-socket') &&
      (release === undefined || compareReleases(release, USER_CACHE_KEYS) < 0),
    rpcKeyInConfigDir: between(RPC_KEY_REGRESSION, RPC_KEY_FIXED),
  };
}
