// What a process holds, read from /proc: open file descriptors and resident memory.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';

export interface Usage {
  fds: number;
  /** Resident set size in KiB (VmRSS). */
  rssKiB: number;
}

export function readUsage(pid: number): Usage {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (rss === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return { fds: readdirSync(`/proc/${pid}/fd`).length, rssKiB: Number(rss) };
}

/** The highest values seen while sampling, and how many samples there were. */
export interface Peak extends Usage {
  samples: number;
}

// Samples a process every `everyMs` until stopped: peaks are what a load drove it to.
export function samplePeaks(pid: number, everyMs = 250): { stop(): Peak } {
  const peak: Peak = { ...readUsage(pid), samples: 1 };
  const timer = setInterval(() => {
    try {
      const usage = readUsage(pid);
      peak.fds = Math.max(peak.fds, usage.fds);
      peak.rssKiB = Math.max(peak.rssKiB, usage.rssKiB);
      peak.samples += 1;
    } catch {
      // the process is gone: the test notices on its own
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

// Open connections to a listening Unix socket: /proc/net/unix lists the server's end of each
// accepted connection (state 03) under the socket's path.
export function countUnixConnections(socketPath: string): number {
  return readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .filter((line) => {
      const fields = line.trim().split(/\s+/);
      return fields[5] === '03' && fields[7] === socketPath;
    }).length;
}

// Resident and peak resident memory of a process, in bytes (Linux).
export function readMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

// Resets the peak so that it measures from now on (writing 5 to clear_refs, Linux ≥ 4.0).
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}
