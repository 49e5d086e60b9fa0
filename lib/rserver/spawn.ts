import { createInterface } from 'node:readline';
import { createSpawnError, type ExitStatus } from './exit-errors.js';
import type { SandboxedCommand } from './sandbox.js';

export interface SpawnedProcess {
  /** The process started: rserver, or the first of its wrappers (setpriv execs in place). */
  pid: number;
  /**
   * Resolves when that process has exited, not when its output pipes close: an rsession may
   * hold them open long after.
   */
  exit: Promise<ExitStatus>;
}

// Starts rserver (as its sandbox wraps it) with execa: in a process group of its own, with the
// environment exactly as given, stdout and stderr read line by line as they come. execa is
// imported here, on the first start, not when the library is loaded (docs/decisions.md).
export async function spawnRServer(
  command: SandboxedCommand,
  onLine: (line: string) => void,
): Promise<SpawnedProcess> {
  const { execa } = await import('execa');
  const subprocess = execa(command.file, command.args, {
    // Its own process group: a Ctrl-C meant for serve's terminal does not reach it, and the
    // stop signals the whole group.
    detached: true,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    // Exactly buildRServerEnv's environment: execa would otherwise add process.env back (the
    // serve token among it).
    env: command.env,
    extendEnv: false,
    // rserver runs for days: its output is read as it comes, never kept in memory.
    buffer: false,
    // How it ended is the launcher's to judge (a requested stop, a crash, a failed start),
    // not a rejection.
    reject: false,
    // The stop algorithm (stop.ts) signals the group, waits its grace period and SIGKILLs:
    // neither execa's own SIGKILL after kill() nor its exit-time cleanup (which would load
    // signal-exit into the host process, and does nothing for a detached process) is used.
    forceKillAfterDelay: false,
    cleanup: false,
    // The library never writes to stdout or stderr, even with NODE_DEBUG=execa.
    verbose: 'none',
  });
  if (subprocess.pid === undefined) {
    const result = await subprocess;
    throw createSpawnError(command.file, result.cause, result.shortMessage ?? 'unknown error');
  }
  const exit = new Promise<ExitStatus>((resolve) =>
    subprocess.once('exit', (code, signal) => resolve({ code, signal })),
  );
  // With reject: false the result never rejects; this keeps an internal error from counting
  // as unhandled while nobody awaits it.
  subprocess.catch(() => undefined);
  for (const stream of [subprocess.stdout, subprocess.stderr]) {
    createInterface({ input: stream }).on('line', onLine);
  }
  return { pid: subprocess.pid, exit };
}
