import { constants } from 'node:os';

// The exit status of an exec told to stop by `signal`: 128 + its number (143 for SIGTERM), never
// 0. jupyter-server-proxy starts its command again only after a non-zero exit, and after an exit
// 0 answers 500 until Jupyter itself restarts. When it stops exec itself (Jupyter shutting down,
// its stop button, a readiness timeout) it has marked the process as killed before it signals,
// and does not restart it whatever the status; every other signal (`rsession-proxy stop`, an
// admin's kill, a job's end) leaves Jupyter running, and only a non-zero status brings RStudio
// back for its user. 128 + n is also what a shell reports for a process killed by signal n.
export function getSignalExitStatus(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}
