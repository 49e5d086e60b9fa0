import { lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { RSessionProxyError } from './errors.js';
import { ensurePrivateDir, getPrivacyProblem } from './private-dir.js';
import { hasControlCharacters } from './validate.js';

export interface RuntimeBaseOptions {
  /** An explicit base directory (--runtime-dir); wins over the environment. */
  runtimeDir?: string | undefined;
  /** The environment to read RSESSION_PROXY_RUNTIME_DIR and XDG_RUNTIME_DIR from. */
  env?: NodeJS.ProcessEnv | undefined;
}

export interface RuntimeBase {
  path: string;
  source: 'option' | 'RSESSION_PROXY_RUNTIME_DIR' | 'XDG_RUNTIME_DIR' | 'tmpdir';
  /** Why XDG_RUNTIME_DIR was set but not used, for the caller to log. */
  warning?: string;
}

// Decides where this user's instances live, without touching the disk beyond one lstat of
// XDG_RUNTIME_DIR: that directory is used only when it is a real directory owned by the user
// with no group/other bits (after `su` it often still names the previous user's).
export function resolveRuntimeBase(options: RuntimeBaseOptions = {}): RuntimeBase {
  const env = options.env ?? process.env;
  if (options.runtimeDir !== undefined) {
    return { path: resolve(validateDirOption(options.runtimeDir, 'runtimeDir')), source: 'option' };
  }
  const fromEnv = env.RSESSION_PROXY_RUNTIME_DIR;
  if (fromEnv) {
    return {
      path: resolve(validateDirOption(fromEnv, 'RSESSION_PROXY_RUNTIME_DIR')),
      source: 'RSESSION_PROXY_RUNTIME_DIR',
    };
  }
  const uid = process.getuid?.() ?? 0;
  const fallback = { path: join(tmpdir(), `rsession-proxy-${uid}`), source: 'tmpdir' } as const;
  const xdg = env.XDG_RUNTIME_DIR;
  if (!xdg) return fallback;
  const problem = getXdgProblem(xdg, uid);
  if (problem) {
    return { ...fallback, warning: `XDG_RUNTIME_DIR=${xdg} is not used: ${problem}.` };
  }
  return { path: join(xdg, 'rsession-proxy'), source: 'XDG_RUNTIME_DIR' };
}

function getXdgProblem(xdg: string, uid: number): string | undefined {
  if (!isAbsolute(xdg)) return 'it is not an absolute path';
  try {
    return getPrivacyProblem(lstatSync(xdg), uid);
  } catch (error) {
    return `it cannot be read (${(error as Error).message})`;
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

const INSTANCE_NAME = /^[A-Za-z0-9._-]{1,32}$/;

// Instance names become directory names: a closed alphabet keeps them from escaping the base.
export function validateInstanceName(name: string): string {
  if (!INSTANCE_NAME.test(name) || name === '.' || name === '..') {
    throw new RSessionProxyError(
      'EINVALIDOPTION',
      `Expected the instance name to be 1-32 characters of A-Z a-z 0-9 . _ - (not "." or ".."), got ${JSON.stringify(name)}.`,
    );
  }
  return name;
}

export interface InstanceDirOptions extends RuntimeBaseOptions {
  instance?: string | undefined;
}

export interface InstanceDir {
  name: string;
  /** `<base>/<name>`, private to this user. */
  path: string;
  base: RuntimeBase;
}

// Creates (or verifies) the private base and the private instance directory inside it.
export async function ensureInstanceDir(options: InstanceDirOptions = {}): Promise<InstanceDir> {
  const name = validateInstanceName(options.instance ?? 'default');
  const base = resolveRuntimeBase(options);
  await ensurePrivateDir(base.path);
  const path = join(base.path, name);
  await ensurePrivateDir(path);
  return { name, path, base };
}
