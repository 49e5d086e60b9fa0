import { existsSync, lstatSync } from 'node:fs';
import { getStateDirs } from './instance/state-dir.js';
import { assertLayoutFits, resolveInstanceLayout, type InstanceLayout } from './instance/layout.js';
import { listRuntimeBaseCandidates } from './instance/runtime-base.js';
import { assertSocketPathLength } from './instance/socket-path.js';
import { getPrivacyProblem, getUid } from './private-dir.js';
import { findR, findRServer } from './rserver/find.js';
import { normalizeLaunchOptions } from './rserver/options.js';
import { probeRServer } from './rserver/probe.js';
import { detectIsolationFor } from './rserver/resolve-isolation.js';
import { detectSandbox } from './rserver/sandbox-detect.js';
import { findPdeathsigSetpriv } from './rserver/setpriv.js';
import { formatListenSpec } from './serve/listen.js';
import {
  normalizeServeOptions,
  type NormalizedServeOptions,
  type ServeOptions,
} from './serve/options.js';
import { readTokenFile } from './serve/token-file.js';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  /** A failed blocking check stops a start; the others are advice. */
  blocking: boolean;
  detail: string;
  hint?: string | undefined;
}

function fromError(name: string, error: unknown, blocking = true): DoctorCheck {
  const { message, hint } = error as { message: string; hint?: string };
  return { name, ok: false, blocking, detail: message.split('\n')[0] ?? message, hint };
}

// Whether a directory that may not exist yet is fit to be private: missing is fine (it will be
// created 0700), present must already be private.
function checkDir(name: string, path: string): DoctorCheck {
  let stats;
  try {
    stats = lstatSync(path);
  } catch {
    return { name, ok: true, blocking: true, detail: `${path} (will be created with mode 0700)` };
  }
  const problem = getPrivacyProblem(stats, getUid());
  return problem
    ? {
        name,
        ok: false,
        blocking: true,
        detail: `${path}: ${problem}`,
        hint: 'Fix or remove it, or choose another directory (--runtime-dir).',
      }
    : { name, ok: true, blocking: true, detail: `${path} (private)` };
}

async function checkRServer(options: ReturnType<typeof normalizeLaunchOptions>) {
  const checks: DoctorCheck[] = [];
  try {
    const rserver = findRServer({ rserver: options.rserver, env: options.env });
    checks.push({ name: 'rserver found', ok: true, blocking: true, detail: rserver });
    try {
      const probe = await probeRServer(rserver);
      const socket = probe.options.has('www-socket');
      checks.push({
        name: 'rserver supports --www-socket',
        ok: socket,
        // Without it rserver runs in a network namespace or behind a password: the isolation
        // check below says which, and blocks when none can be had.
        blocking: false,
        detail: `${probe.version ?? 'version unknown'}: ${socket ? 'yes' : 'no (older than RStudio Server 2024.12.0)'}`,
        hint: socket
          ? undefined
          : 'RStudio Server 2024.12.0 or newer listens on a Unix socket of its own; this one gets the isolation below.',
      });
    } catch (error) {
      checks.push(fromError('rserver supports --www-socket', error));
    }
  } catch (error) {
    checks.push(fromError('rserver found', error));
  }
  const r = findR(options);
  checks.push(
    r && existsSync(r)
      ? { name: 'R found', ok: true, blocking: true, detail: r }
      : {
          name: 'R found',
          ok: false,
          blocking: true,
          detail: r ? `${r} does not exist` : 'no R on PATH and RSTUDIO_WHICH_R unset',
          hint: 'Install R, or point --r (RSTUDIO_WHICH_R) at it.',
        },
  );
  return checks;
}

// The runtime directory: each candidate passed over (an unsafe parent, too long a path, an
// XDG_RUNTIME_DIR that is not the user's) is advice; a refused one, or none at all, blocks.
function checkRuntimeDirs(options: ReturnType<typeof normalizeLaunchOptions>): {
  checks: DoctorCheck[];
  layout: InstanceLayout | undefined;
} {
  const checks: DoctorCheck[] = [];
  for (const candidate of listRuntimeBaseCandidates({
    runtimeDir: options.instance.runtimeDir,
    env: options.env,
  })) {
    if (candidate.unsafeAncestor !== undefined) {
      checks.push({
        name: 'runtime directory parents safe',
        ok: false,
        blocking: candidate.pinned,
        detail: `${candidate.path}: ${candidate.problem ?? ''}`,
        hint: candidate.pinned
          ? 'Choose a directory whose parents only you and root can write to.'
          : 'It is skipped; the next candidate is used. Set TMPDIR (or --runtime-dir) to a directory only you and root can write to.',
      });
    } else if (candidate.problem !== undefined) {
      checks.push({
        name: 'XDG_RUNTIME_DIR set and private',
        ok: false,
        blocking: false,
        detail: `XDG_RUNTIME_DIR=${candidate.path} is not used: ${candidate.problem}`,
        hint: 'Fine: a private directory in /tmp is used instead. Log in through systemd/pam_systemd to get /run/user/<uid>.',
      });
    }
  }
  let layout;
  try {
    layout = resolveInstanceLayout(options.instance);
  } catch (error) {
    checks.push(fromError('runtime directory', error));
    return { checks, layout: undefined };
  }
  checks.push({
    name: 'runtime directory',
    ok: true,
    blocking: true,
    detail: `${layout.base.path} (from ${layout.base.source})`,
  });
  checks.push(checkDir('runtime directory private', layout.base.path));
  checks.push(checkDir('instance directory private', layout.dir));
  checks.push(checkDir('state directory private', getStateDirs().data));
  try {
    assertLayoutFits(layout);
    checks.push({ name: 'socket paths within 107 bytes', ok: true, blocking: true, detail: 'ok' });
  } catch (error) {
    checks.push(fromError('socket paths within 107 bytes', error));
  }
  return { checks, layout };
}

/** What the doctor checks against: serve's options (the launcher's among them). */
export type DoctorOptions = ServeOptions;

// serve's listener and token file, where the options or the environment name them.
async function checkServeOptions(
  config: NormalizedServeOptions,
  defaultListener: string | undefined,
): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const listen = config.listen;
  if (listen !== undefined && !('path' in listen)) {
    checks.push({
      name: 'listener',
      ok: true,
      blocking: true,
      detail: `TCP ${formatListenSpec(listen)} (a token is required)`,
    });
  } else {
    const path = listen?.path ?? defaultListener;
    if (path !== undefined) {
      const name = 'listener socket path within 107 bytes';
      try {
        assertSocketPathLength(path, 'listener socket');
        checks.push({ name, ok: true, blocking: true, detail: path });
      } catch (error) {
        checks.push(fromError(name, error));
      }
    }
  }
  if (config.token.from === 'file') {
    try {
      await readTokenFile(config.token.path);
      checks.push({ name: 'token file', ok: true, blocking: true, detail: config.token.path });
    } catch (error) {
      checks.push(fromError('token file', error));
    }
  }
  return checks;
}

// Everything that decides whether a start can work here, each with a hint when it cannot: the
// same options and environment variables as serve.
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorCheck[]> {
  const config = normalizeServeOptions(options);
  const normalized = normalizeLaunchOptions(config.supervisor);
  const runtime = checkRuntimeDirs(normalized);
  const checks = [
    ...(await checkRServer(normalized)),
    ...runtime.checks,
    ...(await checkServeOptions(config, runtime.layout?.listenerSocketPath)),
  ];
  const setpriv = await findPdeathsigSetpriv(normalized.env);
  checks.push({
    name: 'setpriv --pdeathsig available',
    ok: setpriv !== undefined,
    blocking: false,
    detail: setpriv ?? 'no',
    hint: setpriv
      ? undefined
      : 'Install util-linux 2.33 or newer: without it rserver is stopped by the watchdog, not by the kernel, when the supervisor dies.',
  });
  const sandbox = await detectSandbox(normalized.env);
  checks.push({
    name: 'processes end with the supervisor',
    ok: sandbox.kind === 'pid-namespace',
    blocking: false,
    detail: sandbox.description,
    hint:
      sandbox.kind === 'pid-namespace'
        ? undefined
        : 'The watchdog finds processes by the marker in their environment; one that clears its environment escapes it. util-linux 2.38 or newer with unprivileged user namespaces enabled puts rserver in a PID namespace, from which nothing escapes.',
  });
  checks.push(await checkIsolation(normalized));
  return checks;
}

// The isolation a start would get (docs/security.md): anything weaker than the socket is said,
// and a level that cannot be had blocks the start.
async function checkIsolation(
  normalized: ReturnType<typeof normalizeLaunchOptions>,
): Promise<DoctorCheck> {
  const name = `isolation (${normalized.isolation})`;
  try {
    const { isolation } = await detectIsolationFor(normalized);
    const weaker = isolation.level === 'password' || isolation.warnings.length > 0;
    return {
      name,
      ok: !weaker,
      blocking: false,
      detail: isolation.description,
      hint: weaker ? isolation.warnings.join(' ') : undefined,
    };
  } catch (error) {
    return fromError(name, error);
  }
}
