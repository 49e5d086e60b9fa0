import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isHolderAlive, readLockHolder, type LockHolder } from './lock.js';

/** What a running `serve` or `exec` says about itself, in `<instance dir>/status.json`. */
export interface StatusRecord {
  kind: 'serve' | 'exec';
  instance: string;
  /** The supervisor's pid. */
  pid: number;
  lockTarget: string;
  /** rserver's socket. */
  socket: string;
  /** Where serve listens: `unix:<path>` or `<host>:<port>`. */
  listener?: string | undefined;
  prefix?: string | undefined;
  startedAt: string;
  state: string;
  rserverPid?: number | undefined;
  readySince?: string | undefined;
  lastActivity?: string | undefined;
  restarts?: number | undefined;
}

const STATUS_FILE = 'status.json';

// Written atomically (temp file and rename), readable only by the owner like everything there.
export async function writeStatusFile(dir: string, record: StatusRecord): Promise<void> {
  const file = join(dir, STATUS_FILE);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, file);
}

export async function removeStatusFile(dir: string): Promise<void> {
  await rm(join(dir, STATUS_FILE), { force: true });
}

export interface InstanceStatus {
  name: string;
  dir: string;
  /** True when the lock is held by a live process. */
  running: boolean;
  record: StatusRecord | undefined;
  holder: LockHolder | undefined;
}

// This user's instances under a runtime base: each directory with a status file, and whether
// its lock is held by a live process (a status file left by a killed supervisor says nothing).
export async function listInstances(base: string): Promise<InstanceStatus[]> {
  let entries: string[];
  try {
    entries = await readdir(base);
  } catch {
    return [];
  }
  const statuses: InstanceStatus[] = [];
  for (const name of entries.sort()) {
    const dir = join(base, name);
    let record: StatusRecord | undefined;
    try {
      record = JSON.parse(await readFile(join(dir, STATUS_FILE), 'utf8')) as StatusRecord;
    } catch {
      continue;
    }
    const holder = await readLockHolder(record.lockTarget);
    const running = holder !== undefined && holder.pid === record.pid && isHolderAlive(holder);
    statuses.push({ name, dir, running, record, holder });
  }
  return statuses;
}
