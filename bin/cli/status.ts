import {
  formatDuration,
  getSlurmClientEnv,
  listInstances,
  readJob,
  type InstanceStatus,
} from '../../lib/index.js';
import type { Command, CommandContext } from './command.js';
import { EXIT } from './exit-codes.js';
import { getBoolean, readFlagSettings, type ParsedFlags } from './flags.js';
import { STATUS_HELP } from './help.js';

// The Slurm job of a slurm instance: as its login side last wrote it while that runs; once
// it was killed, as Slurm sees the job now (it keeps running until cancelled or done).
async function describeJob(status: InstanceStatus, env: NodeJS.ProcessEnv) {
  const job = status.record.job;
  if (!job) return null;
  if (status.running) {
    const left = job.endsAt ? Math.max(0, (Date.parse(job.endsAt) - Date.now()) / 1000) : null;
    return {
      id: job.id,
      state: job.state,
      node: job.node ?? null,
      timeLeftSeconds: left === null ? null : Math.round(left),
      socket: job.socket ?? null,
      steps: job.steps ?? null,
    };
  }
  const live = await readJob(job.id, getSlurmClientEnv(env)).catch(() => undefined);
  return {
    id: job.id,
    state: live?.state ?? 'gone',
    node: live?.batchHost ?? job.node ?? null,
    timeLeftSeconds: live?.timeLeftSeconds ?? null,
    socket: job.socket ?? null,
    steps: null,
  };
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
    isolation: running ? (record.isolation ?? null) : null,
    dir: status.dir,
  };
}

// This user's instances, as a table or as JSON.
async function runStatus(flags: ParsedFlags, { io }: CommandContext): Promise<number> {
  const { stdout, env } = io;
  const list = await listInstances({ runtimeDir: readFlagSettings(flags).runtimeDir, env });
  const instances = await Promise.all(
    list.instances.map(async (status) => ({
      ...describe(status),
      job: await describeJob(status, env),
    })),
  );
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
    const rserver = i.state === 'stopped' ? 'not started (it starts on the next request)' : i.state;
    stdout.write(
      `${i.instance} (${i.kind}): ${i.running ? `running, rserver ${rserver}` : 'not running'}\n`,
    );
    if (i.job) stdout.write(`  job: ${formatJob(i.job, i.running, i.instance)}\n`);
    if (!i.running) continue;
    const lines = [
      ['supervisor pid', i.supervisorPid],
      ['rserver pid', i.rserverPid],
      ['rserver socket', i.socket],
      ['listener', i.listener],
      ['prefix', i.prefix],
      ['uptime', i.uptime === null ? null : `${i.uptime} s`],
      ['last activity', i.lastActivity],
      ['isolation', i.isolation],
      ['directory', i.dir],
    ] as const;
    for (const [label, value] of lines) if (value !== null) stdout.write(`  ${label}: ${value}\n`);
  }
  return EXIT.ok;
}

// "12345 RUNNING on node042, time left 3:58:01"; for a killed login side, what to do about it.
function formatJob(
  job: { id: string; state: string; node: string | null; timeLeftSeconds: number | null },
  running: boolean,
  instance: string,
): string {
  const where = job.node === null ? '' : ` on ${job.node}`;
  const left =
    job.timeLeftSeconds === null ? '' : `, time left ${formatDuration(job.timeLeftSeconds)}`;
  const line = `${job.id} ${job.state}${where}${left}`;
  if (running || job.state === 'gone') return line;
  return `${line} (its login side is gone: \`rsession-proxy slurm --instance=${instance}\` attaches to it, \`rsession-proxy stop --instance=${instance}\` cancels it)`;
}
export const statusCommand: Command = {
  name: 'status',
  flags: { json: { type: 'boolean' }, 'runtime-dir': { type: 'string' } },
  help: STATUS_HELP,
  run: runStatus,
};
