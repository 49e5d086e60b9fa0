import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { runCommand } from './processes.js';
import type { Tools } from './tools.js';

/** What the figures were measured on. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  os: string;
  node: string;
  nginx: string | undefined;
  wrk: string | undefined;
  /** The 1-minute load averages when the run began and ended: others' work shows here. */
  loadAtStart: number;
  loadAtEnd?: number | undefined;
}

export function readLoadAverage(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}

function readOsName(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

// The first line a tool prints about its version (nginx -v writes to stderr, wrk -v exits 1).
async function getToolVersion(path: string | undefined, pattern: RegExp) {
  if (path === undefined) return undefined;
  const { stdout, stderr } = await runCommand(path, ['-v']);
  return pattern.exec(`${stdout}\n${stderr}`)?.[1];
}

export async function describeMachine(tools: Tools): Promise<Machine> {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: `Linux ${release()}`,
    os: readOsName(),
    node: process.version,
    nginx: await getToolVersion(tools.nginx, /nginx version: nginx\/(\S+)/),
    wrk: await getToolVersion(tools.wrk, /^wrk (\S+)/m),
    loadAtStart: readLoadAverage(),
  };
}
