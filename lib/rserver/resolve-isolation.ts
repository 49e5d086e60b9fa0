import { findRServer } from './find.js';
import { chooseIsolation, type Isolation, type IsolationOption } from './isolation.js';
import { detectNamespaces, type NamespaceSupport } from './namespace-detect.js';
import {
  normalizeLaunchOptions,
  type LaunchOptions,
  type NormalizedLaunchOptions,
} from './options.js';
import { probeRServer, type RServerProbe } from './probe.js';
import { getReleaseNeeds, type ReleaseNeeds } from './release.js';

export interface ResolvedIsolation {
  isolation: Isolation;
  needs: ReleaseNeeds;
  namespaces: NamespaceSupport;
}

/** What a socket launch is told about namespaces it does not use: nothing was checked. */
const NOT_CHECKED = 'not checked (rserver listens on a Unix socket)';
const UNCHECKED: NamespaceSupport = {
  mount: undefined,
  ip: undefined,
  slirp4netns: undefined,
  privateTmpProblem: NOT_CHECKED,
  networkProblem: NOT_CHECKED,
  outboundProblem: NOT_CHECKED,
};

// The isolation one launch of this rserver gets here, with what it found out on the way. The
// namespaces are only tried when they may be used: an rserver with --www-socket under `auto`
// starts as fast as before.
export async function resolveIsolation(
  requested: IsolationOption,
  probe: RServerProbe,
  env: NodeJS.ProcessEnv,
): Promise<ResolvedIsolation> {
  const needs = getReleaseNeeds(probe);
  const hasWwwSocket = probe.options.has('www-socket');
  const socketOnly = requested === 'socket' || (requested === 'auto' && hasWwwSocket);
  const namespaces = socketOnly ? UNCHECKED : await detectNamespaces(env);
  const isolation = chooseIsolation(requested, {
    hasWwwSocket,
    version: probe.version,
    needs,
    namespaces,
  });
  return { isolation, needs, namespaces };
}

// The isolation a launch with these options would get now, without starting anything: rserver
// is found and probed, the namespaces tried (each cached), for `doctor`, `status` and a server
// that says at its start what protects RStudio. Throws what the start would (ERSERVERNOTFOUND,
// ERSERVERPROBE, ERSERVERTOOOLD, EISOLATION).
export async function detectIsolation(options: LaunchOptions = {}): Promise<ResolvedIsolation> {
  return detectIsolationFor(normalizeLaunchOptions(options));
}

// detectIsolation for options already normalized (the supervisor's).
export async function detectIsolationFor(
  normalized: NormalizedLaunchOptions,
): Promise<ResolvedIsolation> {
  const probe = await probeRServer(
    findRServer({ rserver: normalized.rserver, env: normalized.env }),
  );
  return resolveIsolation(normalized.isolation, probe, normalized.env);
}
