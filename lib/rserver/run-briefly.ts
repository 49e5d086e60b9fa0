export interface BriefRun {
  /** undefined when it did not start or was killed by a signal. */
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  /** stdout and stderr as they came, or why it could not be started. */
  all: string;
  timedOut: boolean;
}

/** More than any probe prints (rserver's --help is about 20 KB); a runaway is cut there. */
const MAX_OUTPUT = 1_000_000;

// Runs a short command (a probe of rserver, setpriv or unshare) to its end and collects what it
// printed. execa is imported here, on first use, so that a process that never probes does not
// hold its module graph (docs/decisions.md).
export async function runBriefly(
  file: string,
  args: readonly string[],
  timeout: number,
): Promise<BriefRun> {
  const { execa } = await import('execa');
  const result = await execa(file, args, {
    // A failed probe is an answer (no --pdeathsig, user namespaces disabled), not an exception.
    reject: false,
    timeout,
    // A probe that hangs has nothing to clean up: no grace period before SIGKILL.
    killSignal: 'SIGKILL',
    forceKillAfterDelay: false,
    // Its own exit-time cleanup loads signal-exit, which patches process.emit and adds signal
    // listeners to the host process; a probe ends by itself (or by the timeout) anyway.
    cleanup: false,
    stdin: 'ignore',
    all: true,
    maxBuffer: MAX_OUTPUT,
    // The library never writes to stdout or stderr, even with NODE_DEBUG=execa.
    verbose: 'none',
  });
  // Not started at all (no such file): execa's one-line message says why.
  const notStarted = result.exitCode === undefined && result.signal === undefined;
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    stdout: result.stdout,
    all: notStarted && !result.timedOut ? (result.shortMessage ?? '') : result.all,
    timedOut: result.timedOut,
  };
}
