import { readFileSync } from 'node:fs';
import { median } from './stats.js';

/** The machine's CPU time so far, from /proc/stat's `cpu` line, in clock ticks. */
export interface CpuTimes {
  /** Time the hypervisor ran something else while this guest wanted a CPU. */
  steal: number;
  /** Every state's time: user, nice, system, idle, iowait, irq, softirq, steal. */
  total: number;
}

// The `cpu` line of /proc/stat's text. Only the first eight fields are summed: guest and
// guest_nice are already counted in user and nice. Undefined when the kernel gives no steal
// field (before 2.6.11) or the line is missing.
export function parseCpuTimes(text: string): CpuTimes | undefined {
  const line = /^cpu\s+([\d ]+)$/m.exec(text)?.[1];
  if (line === undefined) return undefined;
  const fields = line.trim().split(/\s+/).slice(0, 8).map(Number);
  const steal = fields[7];
  if (steal === undefined || fields.some((value) => !Number.isFinite(value))) return undefined;
  return { steal, total: fields.reduce((sum, value) => sum + value, 0) };
}

// Undefined off Linux, or wherever /proc/stat cannot be read.
export function readCpuTimes(): CpuTimes | undefined {
  try {
    return parseCpuTimes(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

// The share of the machine's CPU time the host took between two readings: on a shared virtual
// machine it moves a proxy's figures as much as the proxy does.
export function getStealShare(
  before: CpuTimes | undefined,
  after: CpuTimes | undefined,
): number | undefined {
  if (before === undefined || after === undefined) return undefined;
  const total = after.total - before.total;
  return total > 0 ? (after.steal - before.steal) / total : undefined;
}

// The median and the largest steal share of a set of runs; undefined when none was measured
// (runs from before steal was recorded, or no /proc/stat).
export function describeSteal(shares: readonly (number | undefined)[]): string | undefined {
  const measured = shares.filter((share): share is number => share !== undefined);
  if (measured.length === 0) return undefined;
  const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
  return `${pct(median(measured))} at the median, ${pct(Math.max(...measured))} at most (${measured.length} wrk runs)`;
}
