import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hasControlCharacters } from '../validate.js';

/** The Slurm job behind a `slurm` instance, as its login side last saw it. */
export interface StatusJob {
  id: string;
  /** RUNNING, PENDING… */
  state: string;
  reason?: string | undefined;
  node?: string | undefined;
  /** When its time limit ends it. */
  endsAt?: string | undefined;
  /** rserver's socket on the node. */
  socket?: string | undefined;
  /** Job steps opened so far: one per backend connection, and one that watches the job. */
  steps?: number | undefined;
}

/** What a running `serve`, `exec` or `slurm` says about itself, in `<instance dir>/status.json`. */
export interface StatusRecord {
  kind: 'serve' | 'exec' | 'slurm';
  instance: string;
  /** The supervisor's pid. */
  pid: number;
  /** rserver's socket. */
  socket: string;
  /** Where the front listens: `unix:<path>` or `<host>:<port>`. */
  listener?: string | undefined;
  prefix?: string | undefined;
  startedAt: string;
  state: string;
  rserverPid?: number | undefined;
  readySince?: string | undefined;
  lastActivity?: string | undefined;
  restarts?: number | undefined;
  /** What keeps other users out of rserver, once it has started: `<level>: <description>`. */
  isolation?: string | undefined;
  job?: StatusJob | undefined;
}

// Written atomically (temp file and rename), readable only by the owner like everything there.
export async function writeStatusRecord(file: string, record: StatusRecord): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, file);
}

export async function removeStatusRecord(file: string): Promise<void> {
  await rm(file, { force: true });
}

// Reads a status record; undefined when there is none or it is not one. Only files in a
// directory verified private are read (list.ts), and each field is checked anyway: its text is
// shown to the user, so it may not carry control characters.
export async function readStatusRecord(file: string): Promise<StatusRecord | undefined> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
  return parseStatusRecord(value);
}

const TEXT_FIELDS = ['instance', 'socket', 'startedAt', 'state'] as const;
const OPTIONAL_TEXT = ['listener', 'prefix', 'readySince', 'lastActivity', 'isolation'] as const;
const OPTIONAL_NUMBERS = ['rserverPid', 'restarts'] as const;

export function parseStatusRecord(value: unknown): StatusRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const isText = (field: unknown): field is string =>
    typeof field === 'string' && field.length <= 4096 && !hasControlCharacters(field);
  const isCount = (field: unknown): field is number =>
    typeof field === 'number' && Number.isSafeInteger(field) && field >= 0;
  if (record.kind !== 'serve' && record.kind !== 'exec' && record.kind !== 'slurm') {
    return undefined;
  }
  if (!isCount(record.pid)) return undefined;
  if (!TEXT_FIELDS.every((name) => isText(record[name]))) return undefined;
  if (!OPTIONAL_TEXT.every((name) => record[name] === undefined || isText(record[name]))) {
    return undefined;
  }
  if (!OPTIONAL_NUMBERS.every((name) => record[name] === undefined || isCount(record[name]))) {
    return undefined;
  }
  if (record.job !== undefined && !isStatusJob(record.job, isText, isCount)) return undefined;
  return record as unknown as StatusRecord;
}

const JOB_TEXT = ['reason', 'node', 'endsAt', 'socket'] as const;

function isStatusJob(
  value: unknown,
  isText: (field: unknown) => field is string,
  isCount: (field: unknown) => field is number,
): value is StatusJob {
  if (typeof value !== 'object' || value === null) return false;
  const job = value as Record<string, unknown>;
  return (
    isText(job.id) &&
    isText(job.state) &&
    JOB_TEXT.every((name) => job[name] === undefined || isText(job[name])) &&
    (job.steps === undefined || isCount(job.steps))
  );
}
