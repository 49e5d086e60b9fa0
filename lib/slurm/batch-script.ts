import { RSessionProxyError } from '../errors.js';
import type { IsolationOption } from '../rserver/isolation.js';
import { hasControlCharacters } from '../validate.js';

export interface BatchScriptInput {
  /** The argv that runs rsession-proxy on the node (command.ts). */
  command: readonly string[];
  /** The instance on the login side, named in the script's comment. */
  instance: string;
  /** The job's private directory in the state directory (job-dir.ts). */
  jobDir: string;
  /** The prefix the login side serves RStudio under: rserver's --www-root-path. */
  rootPath: string;
  rserver?: string | undefined;
  r?: string | undefined;
  /** What keeps other users of the node away from rserver (given always, to win over the job's environment). */
  isolation?: IsolationOption | undefined;
  /** How long rserver may take to answer, in ms. */
  timeout?: number | undefined;
  /** Passed to rserver. */
  extraArgs?: readonly string[] | undefined;
}

// Quotes one word for sh: nothing in it is expanded.
export function quoteForShell(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

// The batch script: `rsession-proxy exec` in the foreground, choosing rserver's socket on the
// node itself and reporting to the job directory. Slurm shows scripts, arguments and paths to
// other users (`scontrol show job`), so nothing in it is secret: the token never leaves the
// login side.
export function buildBatchScript(input: BatchScriptInput): string {
  const words = [
    ...input.command,
    'exec',
    `--slurm-job=${input.jobDir}`,
    `--root-path=${input.rootPath}`,
    '--log-format=json',
    ...(input.rserver === undefined ? [] : [`--rserver=${input.rserver}`]),
    ...(input.r === undefined ? [] : [`--r=${input.r}`]),
    ...(input.isolation === undefined ? [] : [`--isolation=${input.isolation}`]),
    ...(input.timeout === undefined ? [] : [`--timeout=${input.timeout / 1000}`]),
    ...(input.extraArgs && input.extraArgs.length > 0 ? ['--', ...input.extraArgs] : []),
  ];
  if (words.some((word) => hasControlCharacters(word))) {
    throw new RSessionProxyError(
      'EINVALIDOPTION',
      'A path or argument for the Slurm job contains a control character (newline, NUL…).',
    );
  }
  return [
    '#!/bin/sh',
    `# RStudio for rsession-proxy instance ${input.instance}, started by \`rsession-proxy slurm\`:`,
    '# rserver listens on a Unix socket in a private directory on this node, and the login node',
    '# reaches it through steps of this job. Nothing here is secret.',
    '#',
    "# XDG_RUNTIME_DIR is the login node's: here it may not exist, or belong to a login session",
    '# whose end removes it (and the socket with it).',
    'unset XDG_RUNTIME_DIR',
    `exec ${words.map(quoteForShell).join(' ')}`,
    '',
  ].join('\n');
}

/** sbatch options that would make the job something other than one RStudio. */
const REFUSED = [
  { pattern: /^--wrap(=|$)/, why: 'the job runs rsession-proxy exec, not a command of yours' },
  { pattern: /^(--array(=|$)|-a)/, why: 'one instance is one job, not an array of them' },
];

// sbatch's arguments: ours first, the user's after them unchanged (sbatch lets a later option
// win, so the user's --job-name or --output take precedence).
export function buildSbatchArgs(input: {
  jobName: string;
  output: string;
  userArgs: readonly string[];
}): string[] {
  return [
    '--parsable',
    `--job-name=${input.jobName}`,
    `--output=${input.output}`,
    ...validateSbatchArgs(input.userArgs),
  ];
}

// The user's sbatch options, refused when they would make the job something else or could cut
// the argument list.
export function validateSbatchArgs(args: readonly string[]): readonly string[] {
  for (const arg of args) {
    const refused = REFUSED.find(({ pattern }) => pattern.test(arg));
    if (refused) {
      throw new RSessionProxyError(
        'EINVALIDOPTION',
        `The sbatch option ${arg.split('=')[0] ?? arg} cannot be used here: ${refused.why}.`,
      );
    }
    if (hasControlCharacters(arg)) {
      throw new RSessionProxyError(
        'EINVALIDOPTION',
        `An sbatch option contains a control character (newline, NUL…): ${JSON.stringify(arg)}.`,
      );
    }
  }
  return args;
}

// "rsession-proxy-default": which instance a job serves, for squeue; no secret in it.
export function getJobName(instance: string): string {
  return `rsession-proxy-${instance}`;
}
