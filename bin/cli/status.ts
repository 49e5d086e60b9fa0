import { resolveRuntimeBase } from '../../lib/index.js';
import { listInstances, type InstanceStatus } from '../../lib/status-file.js';
import { EXIT } from './exit-codes.js';
import { getBoolean, getString, parseFlags, type ParsedFlags } from './flags.js';

export const STATUS_FLAGS = {
  json: { type: 'boolean' },
  'runtime-dir': { type: 'string' },
} as const;

export function parseStatusFlags(argv: readonly string[]): ParsedFlags {
  return parseFlags('rsession-proxy status', argv, STATUS_FLAGS);
}

function describe(status: InstanceStatus) {
  const record = status.record;
  const since = (iso: string | undefined) =>
    iso ? Math.round((Date.now() - Date.parse(iso)) / 1000) : null;
  return {
    instance: status.name,
    kind: record?.kind ?? null,
    running: status.running,
    state: status.running ? (record?.state ?? 'unknown') : 'not running',
    supervisorPid: status.running ? (record?.pid ?? null) : null,
    rserverPid: status.running ? (record?.rserverPid ?? null) : null,
    socket: record?.socket ?? null,
    listener: record?.listener ?? null,
    prefix: record?.prefix ?? null,
    uptime: status.running ? since(record?.readySince) : null,
    lastActivity: record?.lastActivity ?? null,
  };
}

// This user's instances, as a table or as JSON.
export async function runStatus(
  flags: ParsedFlags,
  env: NodeJS.ProcessEnv,
  stdout: NodeJS.WritableStream,
): Promise<number> {
  const base = resolveRuntimeBase({ runtimeDir: getString(flags, 'runtime-dir'), env });
  const instances = (await listInstances(base.path)).map(describe);
  if (getBoolean(flags, 'json')) {
    stdout.write(`${JSON.stringify({ runtimeDir: base.path, instances }, null, 2)}\n`);
    return EXIT.ok;
  }
  if (instances.length === 0) {
    stdout.write(`No instances in ${base.path}.\n`);
    return EXIT.ok;
  }
  for (const i of instances) {
    stdout.write(`${i.instance} (${i.kind ?? '?'}): ${i.state}\n`);
    if (!i.running) continue;
    const lines = [
      ['supervisor pid', i.supervisorPid],
      ['rserver pid', i.rserverPid],
      ['rserver socket', i.socket],
      ['listener', i.listener],
      ['prefix', i.prefix],
      ['uptime', i.uptime === null ? null : `${i.uptime} s`],
      ['last activity', i.lastActivity],
    ] as const;
    for (const [label, value] of lines) if (value !== null) stdout.write(`  ${label}: ${value}\n`);
  }
  return EXIT.ok;
}
