import { listInstances, type InstanceStatus } from '../../lib/index.js';
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
  const { record, running } = status;
  const since = (iso: string | undefined) =>
    iso ? Math.round((Date.now() - Date.parse(iso)) / 1000) : null;
  return {
    instance: status.name,
    kind: record.kind,
    running,
    state: running ? record.state : 'not running',
    supervisorPid: running ? record.pid : null,
    rserverPid: running ? (record.rserverPid ?? null) : null,
    socket: record.socket,
    listener: record.listener ?? null,
    prefix: record.prefix ?? null,
    uptime: running ? since(record.readySince) : null,
    lastActivity: record.lastActivity ?? null,
    dir: status.dir,
  };
}

// This user's instances, as a table or as JSON.
export async function runStatus(
  flags: ParsedFlags,
  env: NodeJS.ProcessEnv,
  stdout: NodeJS.WritableStream,
): Promise<number> {
  const list = await listInstances({ runtimeDir: getString(flags, 'runtime-dir'), env });
  const instances = list.instances.map(describe);
  if (getBoolean(flags, 'json')) {
    stdout.write(
      `${JSON.stringify({ runtimeDirs: list.bases, refused: list.refused, instances }, null, 2)}\n`,
    );
    return EXIT.ok;
  }
  for (const refused of list.refused) stdout.write(`! not read (not private): ${refused}\n`);
  if (instances.length === 0) {
    stdout.write(`No instances in ${list.bases.join(', ') || 'any runtime directory'}.\n`);
    return EXIT.ok;
  }
  for (const i of instances) {
    stdout.write(`${i.instance} (${i.kind}): ${i.state}\n`);
    if (!i.running) continue;
    const lines = [
      ['supervisor pid', i.supervisorPid],
      ['rserver pid', i.rserverPid],
      ['rserver socket', i.socket],
      ['listener', i.listener],
      ['prefix', i.prefix],
      ['uptime', i.uptime === null ? null : `${i.uptime} s`],
      ['last activity', i.lastActivity],
      ['directory', i.dir],
    ] as const;
    for (const [label, value] of lines) if (value !== null) stdout.write(`  ${label}: ${value}\n`);
  }
  return EXIT.ok;
}
