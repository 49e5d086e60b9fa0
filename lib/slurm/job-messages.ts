import type { JobInfo } from './job-info.js';

// "0:41", "12:03", "1:02:03", "2-01:02:03": how squeue writes durations, short for short ones.
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  if (days > 0) return `${days}-${two(hours)}:${two(minutes)}:${two(rest)}`;
  if (hours > 0) return `${hours}:${two(minutes)}:${two(rest)}`;
  return `${minutes}:${two(rest)}`;
}

// "14:02" today, "2026-12-01 14:02" on another day: when something happened, in local time.
export function formatClock(date: Date, now: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const time = `${two(date.getHours())}:${two(date.getMinutes())}`;
  const sameDay = date.toDateString() === now.toDateString();
  return sameDay
    ? time
    : `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${time}`;
}

/** Reasons worth spelling out for a user who has never read Slurm's manual. */
const END_REASONS: Record<string, string> = {
  TIMEOUT: 'its time limit',
  NODE_FAIL: 'its node failed',
  PREEMPTED: 'a job of higher priority took its place',
  OUT_OF_MEMORY: 'it ran out of memory',
  DEADLINE: 'its deadline passed',
  BOOT_FAIL: 'its node did not boot',
};

// "job 12345 pending (Priority), 0:41 in the queue"
export function describeWaiting(job: JobInfo, now: Date): string {
  const reason = job.reason === 'None' ? '' : ` (${job.reason})`;
  const queued = job.submittedAt
    ? `, ${formatDuration((now.getTime() - job.submittedAt.getTime()) / 1000)} in the queue`
    : '';
  return `job ${job.id} ${job.state.toLowerCase()}${reason}${queued}`;
}

// "job 12345 running on node042 (time left 3:59:58)"
export function describeRunning(job: JobInfo): string {
  const left =
    job.timeLeftSeconds === undefined
      ? 'no time limit'
      : `time left ${formatDuration(job.timeLeftSeconds)}`;
  return `job ${job.id} running on ${job.nodes ?? 'its node'} (${left})`;
}

// "your RStudio job 12345 ended: CANCELLED at 14:02", with the reason when Slurm gives one that
// says more than the state.
export function describeEnd(job: JobInfo, now: Date): string {
  const why =
    END_REASONS[job.state] ??
    (job.reason !== 'None' && job.reason !== 'TimeLimit' ? job.reason : undefined);
  const at = job.endsAt ? ` at ${formatClock(job.endsAt, now)}` : '';
  return `your RStudio job ${job.id} ended: ${job.state}${why ? ` (${why})` : ''}${at}`;
}
