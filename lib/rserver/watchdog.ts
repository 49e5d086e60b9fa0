/** Tells the watchdog that rserver was stopped and it may go; idempotent. */
export interface Watchdog {
  release(): void;
}

/**
 * The watchdog, for hosts without user namespaces: a shell blocked reading its stdin, a pipe
 * whose other end only the supervisor holds. `exit` on it means rserver was stopped and cleaned
 * up. End of file without it means the supervisor is gone, however it died: then every process
 * of this user carrying one of the instance's markers ($2…, NAME=value) gets SIGTERM, up to $1 tenths of a
 * second, and SIGKILL. It carries no marker itself, and outlives neither: the supervisor
 * releases it when rserver has gone, and it exits after its sweep.
 */
export const WATCHDOG_SCRIPT = `read -r line
[ "$line" = exit ] && exit 0
PATH=$PATH:/usr/bin:/bin
grace=$1
shift
for marker; do set -- "$@" -e "$marker"; shift; done
list() {
  for file in $(grep -lsxzF "$@" /proc/[0-9]*/environ); do
    pid=\${file#/proc/}
    pid=\${pid%/environ}
    [ -O "/proc/$pid" ] && echo "$pid"
  done
}
alive() {
  for pid; do kill -0 "$pid" 2>/dev/null && return 0; done
  return 1
}
pids=$(list "$@")
[ -n "$pids" ] || exit 0
kill -TERM $pids 2>/dev/null
i=0
while [ "$i" -lt "$grace" ] && alive $pids; do sleep 0.1; i=$((i + 1)); done
pids=$(list "$@")
[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
exit 0`;

// Starts the watchdog for one run of rserver, before rserver, so that no moment of that run is
// unwatched. A shell of about a megabyte, not a second Node.js process.
export async function startWatchdog(
  markers: readonly string[],
  grace: number,
  path: string | undefined,
): Promise<Watchdog> {
  const { execa } = await import('execa');
  const watchdog = execa(
    '/bin/sh',
    ['-c', WATCHDOG_SCRIPT, 'rsession-proxy-watchdog', String(Math.ceil(grace / 100)), ...markers],
    {
      stdin: 'pipe',
      stdout: 'ignore',
      stderr: 'ignore',
      // Its own process group: a Ctrl-C meant for serve's terminal does not end it early.
      detached: true,
      // Only PATH: it must not carry the marker it looks for, nor anything secret.
      env: { PATH: path ?? '/usr/bin:/bin' },
      extendEnv: false,
      // It ends when told or when the supervisor is gone; execa must neither reject on its
      // exit status, nor kill it when the supervisor exits (the sweep is the point then).
      reject: false,
      cleanup: false,
      forceKillAfterDelay: false,
      buffer: false,
      verbose: 'none',
    },
  );
  // It is not a reason for the supervisor's process to stay alive.
  watchdog.unref();
  void watchdog.catch(() => undefined);
  let released = false;
  return {
    // `exit` and the end of the pipe: the watchdog reads the word before the end of file.
    release() {
      if (released) return;
      released = true;
      // Gone already (killed with its group): nothing to tell.
      watchdog.stdin.on('error', () => undefined);
      watchdog.stdin.end('exit\n');
    },
  };
}
