import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { getPrivacyProblem, getUid } from '../private-dir.js';
import { isInstanceSupervisor } from './holder.js';
import { isHolderAlive, readLockHolder, type LockHolder } from './lock.js';
import { listRuntimeBaseCandidates, type RuntimeBaseOptions } from './runtime-base.js';
import { readStatusRecord, type StatusRecord } from './status.js';

export interface InstanceStatus {
  name: string;
  dir: string;
  /** True when the lock is held by the live supervisor of this instance. */
  running: boolean;
  record: StatusRecord;
  holder: LockHolder | undefined;
}

export interface InstanceList {
  instances: InstanceStatus[];
  /** The bases that were looked at. */
  bases: string[];
  /** Bases or directories that were not read because they are not private, and why. */
  refused: string[];
}

// This user's instances: each private directory with a status record under every base an
// instance may live in, and whether its supervisor is alive. What is not provably the user's own
// (a base or directory that is not private, or that another user could have planted) is not
// read but reported, so a planted status file can never show up as an instance.
export async function listInstances(options: RuntimeBaseOptions = {}): Promise<InstanceList> {
  const uid = getUid();
  const result: InstanceList = { instances: [], bases: [], refused: [] };
  for (const candidate of listRuntimeBaseCandidates(options)) {
    if (candidate.problem !== undefined) continue;
    const problem = getDirProblem(candidate.path, uid);
    if (problem === 'missing') continue;
    result.bases.push(candidate.path);
    if (problem !== undefined) {
      result.refused.push(`${candidate.path}: ${problem}`);
      continue;
    }
    let entries: string[];
    try {
      entries = readdirSync(candidate.path).sort();
    } catch {
      continue;
    }
    for (const name of entries) {
      const dir = join(candidate.path, name);
      if (name.endsWith('.lock') || getDirProblem(dir, uid) !== undefined) continue;
      const record = await readStatusRecord(join(dir, 'status.json'));
      if (record === undefined) continue;
      const holder = await readLockHolder(dir);
      const running =
        holder !== undefined &&
        holder.pid === record.pid &&
        isHolderAlive(holder) &&
        isInstanceSupervisor(holder, dir);
      result.instances.push({ name, dir, running, record, holder });
    }
  }
  return result;
}

function getDirProblem(path: string, uid: number): string | undefined {
  try {
    return getPrivacyProblem(lstatSync(path), uid);
  } catch {
    return 'missing';
  }
}
