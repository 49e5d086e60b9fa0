import { lstatSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { readSetting } from '../environment.js';
import { RSessionProxyError } from '../errors.js';
import { isErrnoException } from '../errno.js';
import {
  findUnsafeAncestor,
  getPrivacyProblem,
  getUid,
  unsafeAncestorError,
} from '../private-dir.js';
import { hasControlCharacters } from '../validate.js';

export interface RuntimeBaseOptions {
  /** An explicit base directory (--runtime-dir); wins over the environment. */
  runtimeDir?: string | undefined;
  /** The environment to read RSESSION_PROXY_RUNTIME_DIR, XDG_RUNTIME_DIR and TMPDIR from. */
  env?: NodeJS.ProcessEnv | undefined;
}

export type RuntimeBaseSource =
  'option' | 'RSESSION_PROXY_RUNTIME_DIR' | 'XDG_RUNTIME_DIR' | 'TMPDIR' | 'tmp' | 'short';

export interface RuntimeBase {
  path: string;
  source: RuntimeBaseSource;
  /** Candidates that were passed over and why, in order, for the caller to log once. */
  warnings: readonly string[];
}

/** A place this user's instances may live, in the order they are preferred. */
export interface RuntimeBaseCandidate {
  path: string;
  source: RuntimeBaseSource;
  /** Chosen by the user (option or variable): refused rather than passed over. */
  pinned: boolean;
  /** Why it cannot be used at all, when it cannot. */
  problem?: string | undefined;
  /** The unsafe directory above it, when that is the problem. */
  unsafeAncestor?: { path: string; problem: string } | undefined;
}

// The bases in order of preference: the user's choice alone when there is one; else a private
// XDG_RUNTIME_DIR, the temporary directory, /tmp, and two short ones for when the others leave
// too few of the 107 bytes a socket path may have.
export function listRuntimeBaseCandidates(
  options: RuntimeBaseOptions = {},
): RuntimeBaseCandidate[] {
  const env = options.env ?? process.env;
  const uid = getUid();
  const pinned = (path: string, source: RuntimeBaseSource, name: string) => [
    judge({ path: resolve(validateDirOption(path, name)), source, pinned: true }, uid),
  ];
  if (options.runtimeDir !== undefined) return pinned(options.runtimeDir, 'option', 'runtimeDir');
  const fromEnv = readSetting(env, 'runtimeDir');
  if (fromEnv !== undefined) {
    return pinned(fromEnv.value, 'RSESSION_PROXY_RUNTIME_DIR', fromEnv.variable);
  }
  const candidates: RuntimeBaseCandidate[] = [];
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg) {
    const problem = getXdgProblem(xdg, uid);
    candidates.push(
      problem
        ? { path: xdg, source: 'XDG_RUNTIME_DIR', pinned: false, problem }
        : judge(
            { path: join(xdg, 'rsession-proxy'), source: 'XDG_RUNTIME_DIR', pinned: false },
            uid,
          ),
    );
  }
  const tmp = getTmpDir(env);
  const seen = new Set<string>();
  for (const [path, source] of [
    [join(tmp, `rsession-proxy-${uid}`), tmp === '/tmp' ? 'tmp' : 'TMPDIR'],
    [`/tmp/rsession-proxy-${uid}`, 'tmp'],
    [`/tmp/rsp-${uid}`, 'short'],
    [`/dev/shm/rsp-${uid}`, 'short'],
  ] as const) {
    if (seen.has(path)) continue;
    seen.add(path);
    candidates.push(judge({ path, source, pinned: false }, uid));
  }
  return candidates;
}

// Decides where this user's instances live: the first candidate that is safe and leaves room for
// every socket the instance needs (`fits`). A candidate the user pinned is refused rather than
// passed over; the others are passed over with a warning naming the reason.
export function resolveRuntimeBase(
  options: RuntimeBaseOptions = {},
  fits: (base: string) => boolean = () => true,
): RuntimeBase {
  const warnings: string[] = [];
  const candidates = listRuntimeBaseCandidates(options);
  let tooLong: RuntimeBaseCandidate | undefined;
  for (const candidate of candidates) {
    if (candidate.pinned) {
      if (candidate.unsafeAncestor) {
        throw unsafeAncestorError(candidate.path, candidate.unsafeAncestor);
      }
      return { path: candidate.path, source: candidate.source, warnings };
    }
    if (candidate.problem !== undefined) {
      warnings.push(`${describeCandidate(candidate)} is not used: ${candidate.problem}.`);
      continue;
    }
    if (!fits(candidate.path)) {
      tooLong ??= candidate;
      warnings.push(
        `${candidate.path} is too long for the sockets rserver creates below it (107 bytes at most).`,
      );
      continue;
    }
    if (tooLong !== undefined) {
      warnings.push(`Using the shorter private directory ${candidate.path} instead.`);
    }
    return { path: candidate.path, source: candidate.source, warnings };
  }
  // Nothing fits (or nothing is safe): the preferred candidate is returned, and the path-length
  // or privacy check that follows says what is wrong with it.
  const preferred = tooLong ?? candidates[0];
  if (preferred === undefined || preferred.problem !== undefined) {
    throw new RSessionProxyError(
      'ENOTPRIVATE',
      `No safe place for the private runtime directory: ${warnings.join(' ')}`,
      {
        hint: 'Choose a directory whose parents only you and root can write to with --runtime-dir (or RSESSION_PROXY_RUNTIME_DIR).',
      },
    );
  }
  return { path: preferred.path, source: preferred.source, warnings };
}

function describeCandidate(candidate: RuntimeBaseCandidate): string {
  return candidate.source === 'XDG_RUNTIME_DIR' && !candidate.path.endsWith('/rsession-proxy')
    ? `XDG_RUNTIME_DIR=${candidate.path}`
    : candidate.path;
}

// Marks a candidate whose parents another user could use to swap it (a TMPDIR in a group's
// shared scratch directory is the everyday case).
function judge(candidate: RuntimeBaseCandidate, uid: number): RuntimeBaseCandidate {
  const ancestor = findUnsafeAncestor(candidate.path, uid);
  if (ancestor === undefined) return candidate;
  return {
    ...candidate,
    unsafeAncestor: ancestor,
    problem: `${ancestor.path} above it is not safe (${ancestor.problem})`,
  };
}

// Like os.tmpdir(), but from the environment given rather than this process's.
function getTmpDir(env: NodeJS.ProcessEnv): string {
  const value = env.TMPDIR || env.TMP || env.TEMP || '/tmp';
  const trimmed = value.length > 1 ? value.replace(/\/+$/, '') : value;
  return isAbsolute(trimmed) && !hasControlCharacters(trimmed) ? trimmed : '/tmp';
}

// XDG_RUNTIME_DIR is used only when it is a real directory owned by the user with no group or
// other bits: after `su` it often still names the previous user's.
function getXdgProblem(xdg: string, uid: number): string | undefined {
  if (!isAbsolute(xdg)) return 'it is not an absolute path';
  try {
    return getPrivacyProblem(lstatSync(xdg), uid);
  } catch (error) {
    const why = isErrnoException(error) ? (error.code ?? error.message) : String(error);
    return `it cannot be read (${why})`;
  }
}

function validateDirOption(value: string, name: string): string {
  if (value.trim() === '' || hasControlCharacters(value)) {
    throw new RSessionProxyError(
      'EINVALIDOPTION',
      `Expected \`${name}\` to be a directory path, got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}
