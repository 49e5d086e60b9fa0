import { RSessionProxyError } from '../errors.js';
import { validateInstanceName } from '../instance/name.js';
import type { Logger } from '../logger.js';
import { readSetting } from '../environment.js';
import { validateIsolationOption, type IsolationOption } from '../rserver/isolation.js';
import type { LaunchOptions } from '../rserver/options.js';
import { normalizeRootPath } from '../url-prefix.js';
import { hasControlCharacters } from '../validate.js';
import { validateSbatchArgs } from './batch-script.js';
import { getDefaultNodeCommand } from './command.js';
import { getSlurmClientEnv } from './slurm-env.js';

/**
 * A Slurm job as the backend: `instance`, `runtimeDir` and `env` choose the login side's instance
 * (its lock and private directory, where serve listens); `rserver`, `r`, `isolation`, `timeout`,
 * `rootPath` and `extraArgs` are for `rsession-proxy exec` in the job.
 */
export interface SlurmBackendOptions extends Omit<LaunchOptions, 'socketPath' | 'ephemeral'> {
  /** sbatch options, passed on unchanged after rsession-proxy's own (a later option wins). */
  sbatchArgs?: readonly string[] | undefined;
  /** When the job ends by itself, submit a new one on the next request; default true. */
  resubmit?: boolean | undefined;
  /** The argv that runs rsession-proxy on the node; default this Node.js and this package. */
  command?: readonly string[] | undefined;
  /** How long RStudio may take to report ready once the job runs, in ms; default timeout + 60 s. */
  readyTimeout?: number | undefined;
  /**
   * Let downloads pass through chunk files in the private state directory on the shared home
   * while srun's stdio is behind (srun alone carries about 40 MB/s); default true. false keeps
   * every byte in srun's stdio, for sites whose shared filesystem is slow or metered.
   */
  spill?: boolean | undefined;
}

export interface NormalizedSlurmOptions {
  instance: string;
  runtimeDir: string | undefined;
  /** The login side's environment (the instance, the state directory). */
  env: NodeJS.ProcessEnv;
  /** What sbatch, squeue, scancel and srun run with (slurm-env.ts). */
  slurmEnv: NodeJS.ProcessEnv;
  sbatchArgs: readonly string[];
  resubmit: boolean;
  spill: boolean;
  command: readonly string[];
  rootPath: string;
  rserver: string | undefined;
  r: string | undefined;
  /** Passed to the job's exec, which applies it on the node (the job's own environment aside). */
  isolation: IsolationOption;
  timeout: number | undefined;
  readyTimeout: number;
  stopTimeout: number;
  extraArgs: readonly string[];
  logger: Logger | undefined;
}

function invalid(name: string, expected: string, value: unknown): RSessionProxyError {
  return new RSessionProxyError(
    'EINVALIDOPTION',
    `Expected the \`${name}\` option to be ${expected}, got ${JSON.stringify(value)}.`,
  );
}

function validateWords(value: unknown, name: string, allowEmpty: boolean): readonly string[] {
  if (
    !Array.isArray(value) ||
    (!allowEmpty && value.length === 0) ||
    value.some((word) => typeof word !== 'string' || word === '' || hasControlCharacters(word))
  ) {
    throw invalid(name, 'an array of non-empty strings without control characters', value);
  }
  return value as string[];
}

function validateMs(value: unknown, name: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  throw invalid(name, 'a positive integer (ms)', value);
}

// Every default in one place, each value checked once.
export function normalizeSlurmOptions(options: SlurmBackendOptions = {}): NormalizedSlurmOptions {
  const {
    instance = 'default',
    runtimeDir,
    env = process.env,
    sbatchArgs = [],
    resubmit = true,
    spill = true,
    command = getDefaultNodeCommand(),
    rootPath = '/',
    rserver,
    r,
    isolation = readSetting(env, 'isolation')?.value ?? 'auto',
    timeout,
    readyTimeout,
    stopTimeout = 5000,
    extraArgs = [],
    logger,
  } = { ...options };
  if (typeof resubmit !== 'boolean') throw invalid('resubmit', 'a boolean', resubmit);
  if (typeof spill !== 'boolean') throw invalid('spill', 'a boolean', spill);
  const timeoutMs = timeout === undefined ? undefined : validateMs(timeout, 'timeout');
  return {
    instance: validateInstanceName(instance),
    runtimeDir,
    env,
    slurmEnv: getSlurmClientEnv(env),
    sbatchArgs: validateSbatchArgs(validateWords(sbatchArgs, 'sbatchArgs', true)),
    resubmit,
    spill,
    command: validateWords(command, 'command', false),
    rootPath: normalizeRootPath(rootPath),
    rserver,
    r,
    isolation: validateIsolationOption(isolation),
    timeout: timeoutMs,
    readyTimeout:
      readyTimeout === undefined
        ? (timeoutMs ?? 30_000) + 60_000
        : validateMs(readyTimeout, 'readyTimeout'),
    stopTimeout: validateMs(stopTimeout, 'stopTimeout'),
    extraArgs: validateWords(extraArgs, 'extraArgs', true),
    logger,
  };
}
