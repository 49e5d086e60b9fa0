export const MAIN_HELP = `rsession-proxy — RStudio Server for one user on a private Unix socket

Usage:
  rsession-proxy exec --socket=PATH [options] [-- rserver arguments]
  rsession-proxy serve [options] [-- rserver arguments]
  rsession-proxy slurm [serve's options] [--no-resubmit] [--no-spill] [-- sbatch options]
  rsession-proxy status [--json]
  rsession-proxy stop [--instance=NAME | --socket=PATH]
  rsession-proxy doctor [--json]
  rsession-proxy relay --socket=PATH [--spill-dir=DIR]

Commands:
  exec     Serve RStudio on a socket someone else chose (jupyter-server-proxy's command).
  serve    Run RStudio behind a private socket (or a token-protected port), starting
           rserver on the first request.
  slurm    Serve like serve on a login node, with RStudio in a Slurm job on a compute node.
  status   Show this user's instances.
  stop     Stop a running serve, slurm or exec cleanly (slurm: its job is cancelled).
  doctor   Check everything a start needs, with a hint for each problem.
  relay    Internal: what a Slurm job step runs to carry a connection to a socket.

Options:
  -h, --help      Help for the command (rsession-proxy serve --help).
  --version       Print the version.

Exit codes: 0 ok, 1 failure, 2 usage error, 3 instance already running; exec stopped
by signal N: 128 + N (for each command: docs/cli.md). Every flag's environment variable:
docs/cli.md#environment.
Docs: docs/cli.md, docs/hpc.md, docs/jupyter-server-proxy.md, docs/security.md.
`;

const LAUNCH_OPTIONS = `  --rserver=FILE        rserver binary (RSESSION_PROXY_RSERVER; default: PATH, then
                        /usr/lib/rstudio-server/bin/rserver, /usr/lib/rstudio/bin/rserver)
  --r=FILE              R executable (RSESSION_PROXY_R, RSTUDIO_WHICH_R; default: R on PATH)
  --isolation=auto|socket|namespace|password
                        What keeps other users away from rserver (RSESSION_PROXY_ISOLATION;
                        default auto: a socket of its own where rserver has --www-socket
                        (2024.12.0 on), else a network namespace of its own, else only a
                        password on a port every user of the host can reach, said as a
                        warning; a level asked for by name is refused rather than weakened)
  --timeout=SECONDS     How long rserver may take to answer (RSESSION_PROXY_TIMEOUT,
                        RSERVER_TIMEOUT; default 30)
  --runtime-dir=DIR     Base of the private directories (RSESSION_PROXY_RUNTIME_DIR;
                        default $XDG_RUNTIME_DIR/rsession-proxy or /tmp/rsession-proxy-<uid>)
  --log-format=FORMAT   text (default) or json, for status lines on stderr
  --verbose             Also show rserver's INFO lines and debug messages
  -- ARGS               Passed to rserver last (options rsession-proxy sets are refused)`;

export const EXEC_HELP = `Usage: rsession-proxy exec --socket=PATH [options] [-- rserver arguments]

jupyter-server-proxy's command: serves RStudio on the Unix socket PATH and stays in the
foreground. PATH's directory must be yours with no group/other permissions; it is created
with mode 0700 when missing. rserver starts at once, on a socket of its own in a private
directory, and again after a crash; requests meanwhile wait or get a page saying why. Each
start says the isolation in force: an rserver without --www-socket (before 2024.12.0) runs
in a network namespace of its own, or only behind a password (said as a warning), and exec
signs the browser in for you. A start that cannot work (no rserver, older than 1.4, an
--isolation it cannot have) is not retried in a loop: every request is answered with the
reason. On SIGTERM, SIGINT or SIGHUP it stops rserver and every process it started, removes
the socket and its state, and exits 128 + the signal's number (143 for SIGTERM): non-zero,
so that jupyter-server-proxy starts it again while Jupyter runs.

Options:
  --socket=PATH         Unix socket to serve RStudio on (required)
  --root-path=PATH      The URL prefix the browser sees, which the proxy in front removes
                        (e.g. /user/alice/rstudio/; default /); a request that still
                        carries it gets a page saying so
${LAUNCH_OPTIONS}

jupyter-server-proxy (see docs/jupyter-server-proxy.md):
  "command": ["rsession-proxy", "exec", "--socket={unix_socket}",
              "--root-path={base_url}rstudio/"], "unix_socket": true, "timeout": 30

Exit codes: 128 + N stopped by signal N (never because of rserver), 1 what fails before
it listens (a directory not private, a socket path too long), 2 usage error, 3 socket in use.

Example:
  mkdir -m 700 -p "$HOME/.rsp" && rsession-proxy exec --socket="$HOME/.rsp/rstudio.sock"
`;

export const SERVE_HELP = `Usage: rsession-proxy serve [options] [-- rserver arguments]

Serves RStudio through an authenticated proxy. By default it listens on a Unix socket in a
directory only you can enter and prints the ssh command that brings it to your laptop, so no
TCP port is opened on a shared host. rserver starts on the first authenticated request and
again after a crash.

Options:
  --listen=unix:PATH|HOST:PORT
                        Where to listen (RSESSION_PROXY_LISTEN; default a Unix socket in
                        the instance's private directory). A TCP port always needs a token.
  --prefix=/P/          Serve RStudio under this path (RSESSION_PROXY_PREFIX; default /)
  --token=T             Access token: 22+ URL-safe characters, not repetitive (make one with
                        \`openssl rand -base64 32\`); visible in ps: prefer the next two
  --token-file=FILE     Read the token from a file of yours with mode 0600
                        (also RSESSION_PROXY_TOKEN, RSESSION_PROXY_TOKEN_FILE)
  --no-token            No token (only with --listen=unix:PATH). Default: a new random token
  --allow-host=NAME     Accept requests for this host name too (repeatable;
                        RSESSION_PROXY_ALLOW_HOSTS=a,b). Always accepted: localhost,
                        127.0.0.1, [::1]; others are refused (DNS rebinding)
  --trust-proxy         Behind a TLS proxy you run: believe the X-Forwarded-Proto/-Host
                        (else Forwarded) it adds, so that redirects are https:// and
                        cookies Secure (docs/front-proxies.md). Off by default
  --instance=NAME       Instance name (RSESSION_PROXY_INSTANCE; default "default")
  --idle-timeout=MIN    Stop rserver after MIN minutes without traffic; it starts again on
                        the next request (RSESSION_PROXY_IDLE_TIMEOUT)
  --open                Start the browser on the URL (TCP listener, with a display)
  --demo                Use the rserver test double instead of RStudio Server (from a
                        clone), on 127.0.0.1 unless --listen says otherwise
${LAUNCH_OPTIONS}

rserver is checked before serve listens, and the isolation it would get said: without a
usable one (missing, or older than 1.4) or with an --isolation it cannot have, serve exits 1
saying why.

Endpoints: <prefix>_rsession-proxy/health (no auth: "ok"), <prefix>_rsession-proxy/status.
Requests from pages of other origins (POST, PUT, PATCH, DELETE, WebSockets) get 403; the
token and serve's cookie never reach rserver; the cookie stops working when serve stops.

Exit codes: 0 stopped on a signal, 1 cannot start, 2 usage error, 3 instance in use.

Examples:
  rsession-proxy serve
  rsession-proxy serve --listen=127.0.0.1:8787 --token-file="$HOME/.rstudio-token"
`;

export const SLURM_HELP = `Usage: rsession-proxy slurm [serve's options] [--no-resubmit] [--no-spill] [-- sbatch options]

Runs RStudio in a Slurm batch job on a compute node and serves it from this login node exactly
like \`rsession-proxy serve\`: a Unix socket in a private directory by default (or a port with a
token), and the ssh command that brings it to your laptop. No port is opened on the compute
node: every connection to RStudio there is a step of the job (srun --overlap, Slurm 20.11 or
later) that relays to rserver's socket in a private directory on the node.

The job is submitted at once (sbatch --parsable, your options after -- passed unchanged); the
wait in the queue (state, reason, time) shows here and on the page a browser gets meanwhile.
When the job ends by itself (time limit, scancel, node failure) the next page load says why and
submits one new job. SIGTERM, SIGINT (Ctrl-C) or SIGHUP cancel the job and wait until Slurm
reports it gone. Killed, this command leaves the job running: run it again (same --instance) and
it attaches to that job. rsession-proxy must be installed at the same path on the compute
nodes, and the home directory shared with them (the job reports there). --isolation applies
in the job, on the node: an rserver there without --www-socket is reached through the job's
own front, which signs in for you, and this command says the isolation the job got.

srun's stdio carries about 40 MB/s, so while it falls behind a download's bytes pass briefly
through chunk files in a private directory of the job in your state directory on the shared
home (mode 0700: you and root only), each removed as soon as it is read; the job removes the
directory when it ends.

Options: serve's (rsession-proxy serve --help) but --demo, and:
  --no-resubmit         When the job ends by itself, say so and exit 1 instead
  --no-spill            Carry every byte through srun, never through chunk files (for a
                        shared filesystem that is slow or metered; downloads ~40 MB/s)
  -- OPTIONS            sbatch options, e.g. --time=4:00:00 --cpus-per-task=4 --mem=16G
                        (not --wrap or --array)

Example:
  rsession-proxy slurm -- --time=4:00:00 --cpus-per-task=4 --mem=16G
`;

export const STATUS_HELP = `Usage: rsession-proxy status [--json] [--runtime-dir=DIR]

Lists this user's instances: state, supervisor and rserver pids, socket, listener, uptime and
last activity; for slurm, the job (id, node, state, time left).
`;

export const STOP_HELP = `Usage: rsession-proxy stop [--instance=NAME | --socket=PATH] [--runtime-dir=DIR]

Stops a running serve or slurm (by instance, default "default") or exec (by socket) through
its supervisor: rserver and everything it started stop, the sockets and the lock go away. For
slurm the job is cancelled, also when its login side was killed. Exits 0 when nothing was
running.
`;

export const DOCTOR_HELP = `Usage: rsession-proxy doctor [--json] [--rserver=FILE] [--r=FILE] [--isolation=LEVEL]
                             [--instance=NAME] [--runtime-dir=DIR] [--listen=SPEC]
                             [--token-file=FILE]

Checks what a start needs: rserver and its version (--www-socket support), R, the private
directories, socket path lengths, the token file, setpriv and XDG_RUNTIME_DIR, and the
isolation a start would get (--isolation as serve takes it: auto, socket, namespace or
password), reading the same environment variables as serve. Prints a checklist with a hint
per problem; exits 1 when something blocks a start.

Examples:
  rsession-proxy doctor
  rsession-proxy doctor --isolation=namespace
`;

export const RELAY_HELP = `Usage: rsession-proxy relay --socket=PATH [--spill-dir=DIR [--spill-prefix=HEX]]

Internal: what a Slurm job step runs on the compute node to carry one connection from the
login node to RStudio's socket there. Copies stdin to the Unix socket PATH and the socket to
stdout; when stdin ends it half-closes the socket and keeps copying until the socket closes,
then exits 0 once stdout has drained (also when RStudio closes the connection mid-request).
Exits 1, saying why on stderr, when it cannot connect (no socket, nothing listening,
permission denied) or the connection fails otherwise.

  --spill-dir=DIR  Speak the framed protocol of \`rsession-proxy slurm\`: while srun's stdout
                   falls behind, bytes from the socket go into chunk files in DIR (which must
                   be private: yours, mode 0700), announced on stdout and acknowledged on
                   stdin; a chunk that cannot be written turns the files off for the
                   connection, saying so on stderr. Unread chunks are removed when it ends.
  --spill-prefix=HEX  The chunk files' name prefix (16 hex digits; default a random one),
                   so that the login side can remove them too if this relay is killed.
`;
