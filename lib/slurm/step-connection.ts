// The login side of a backend connection through Slurm: one job step (`srun --overlap` inside
// the user's running job) that runs `rsession-proxy relay` next to rserver's socket on the
// compute node. srun's stdin and stdout carry the bytes, so no TCP port is opened on the node
// and nothing but Slurm's own authentication decides who may connect.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { Duplex, type Readable, type Writable } from 'node:stream';
import { RSessionProxyError } from '../errors.js';
import { LineTail } from '../rserver/line-tail.js';
import { hasControlCharacters } from '../validate.js';
import { CHUNK_PREFIX, createChunkPrefix, encodeDataHeader, END_FRAME } from './relay-frames.js';
import { removeConnectionChunks, SpillReader, type SpillCounts } from './spill-reader.js';

export interface StepConnectionOptions {
  /** The running job the step joins. */
  jobId: string;
  /** rserver's socket on the node. */
  socketPath: string;
  /**
   * The argv that runs rsession-proxy on the node, e.g. `['rsession-proxy']` or
   * `[process.execPath, '/path/to/dist/bin/rsession-proxy.js']`; `relay --socket=…` follows.
   */
  command: readonly string[];
  /** The node to run the relay on (`--nodelist`), for jobs with more than one. */
  node?: string | undefined;
  /** The srun to run; default `srun` on PATH. */
  srun?: string | undefined;
  /** srun's environment (SLURM_CONF, PATH…); default this process's. */
  env?: NodeJS.ProcessEnv | undefined;
  /** How long srun may take to end after SIGTERM before it gets SIGKILL; default 5000 ms. */
  killGrace?: number | undefined;
  /**
   * A private directory on the filesystem this host and the node share, for the file lane
   * (relay-lanes.ts): given, the step speaks the framed protocol and a download's bulk bytes
   * pass through chunk files there. Without it the step is a plain byte pipe through srun.
   */
  spillDir?: string | undefined;
  /** The connection's chunk-file prefix (16 hex digits); default a random one. */
  spillPrefix?: string | undefined;
}

const JOB_ID = /^\d+(_\d+)?$/;

// Every input ends up in srun's argv: refuse what would be read as another option or cut it.
function validateStepOptions(options: StepConnectionOptions): void {
  const invalid = (what: string, value: unknown) =>
    new RSessionProxyError(
      'EINVALIDOPTION',
      `Invalid ${what} for a Slurm step connection: ${JSON.stringify(value)}.`,
    );
  if (!JOB_ID.test(options.jobId)) throw invalid('jobId (digits, e.g. 12345)', options.jobId);
  if (!options.socketPath.startsWith('/') || hasControlCharacters(options.socketPath))
    throw invalid('socketPath (an absolute path)', options.socketPath);
  if (options.command.length === 0 || options.command.some((arg) => arg === ''))
    throw invalid('command (the argv that runs rsession-proxy on the node)', options.command);
  if (options.command.some((arg) => hasControlCharacters(arg)))
    throw invalid('command (no control characters)', options.command);
  if (options.node !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(options.node))
    throw invalid('node (a node name)', options.node);
  const { spillDir } = options;
  if (spillDir !== undefined && (!spillDir.startsWith('/') || hasControlCharacters(spillDir)))
    throw invalid('spillDir (an absolute path)', spillDir);
  if (options.spillPrefix !== undefined && !CHUNK_PREFIX.test(options.spillPrefix))
    throw invalid('spillPrefix (16 hex digits)', options.spillPrefix);
}

// srun's arguments: a step of one task in the running job, sharing the job's resources
// (--overlap, Slurm 20.11+) so that it starts while rserver holds them, and with unbuffered
// output, without which slurmstepd forwards output only up to the last newline and binary
// frames stall. The step runs in / because it otherwise tries srun's own working directory,
// which the node may not have (slurmstepd then complains on stderr and uses /tmp).
export function buildStepArgs(options: StepConnectionOptions): string[] {
  return [
    ...buildStepPrefix(options),
    ...options.command,
    'relay',
    `--socket=${options.socketPath}`,
    ...(options.spillDir === undefined
      ? []
      : [`--spill-dir=${options.spillDir}`, `--spill-prefix=${options.spillPrefix ?? ''}`]),
  ];
}

// What every step of ours asks srun for, before the command it runs.
export function buildStepPrefix(options: { jobId: string; node?: string | undefined }): string[] {
  return [
    `--jobid=${options.jobId}`,
    '--overlap',
    '--unbuffered',
    '--nodes=1',
    '--ntasks=1',
    '--chdir=/',
    ...(options.node === undefined ? [] : [`--nodelist=${options.node}`]),
  ];
}

// srun's words for a step into a job that has ended ("Slurm job 7 has expired", then "Check
// SLURM_JOB_ID environment variable. Expired or invalid job 7") speak of a variable the user
// never set: they become one line that says what happened.
export function translateStepLines(lines: readonly string[]): string[] {
  return lines.flatMap((line) => {
    if (/Check SLURM_JOB_ID environment variable/.test(line)) return [];
    const expired = /Slurm job (\S+) has expired/.exec(line);
    return expired ? [`srun: job ${expired[1] ?? ''} has ended`] : [line];
  });
}

// One line from what srun and the relay printed: their last few lines, the relay's reason first.
export function describeStepFailure(
  jobId: string,
  exit: { code: number | null; signal: string | null },
  stderr: readonly string[],
): string {
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code ?? '?'}`;
  const said = translateStepLines(stderr)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .slice(-3);
  return `The Slurm step into job ${jobId} ended: srun ${how}${said.length > 0 ? `: ${said.join(' / ')}` : ' and printed nothing'}.`;
}

/**
 * A connection to rserver's socket on a compute node, made of one Slurm step: writes go to
 * srun's stdin, srun's stdout is what is read. Shaped like a net.Socket where node:http and ws
 * look (setTimeout/timeout, setKeepAlive, setNoDelay, ref/unref, destroySoon, connecting,
 * 'connect'), so an http.Agent's createConnection can return it. `destroy()` ends the step.
 */
export class StepConnection extends Duplex {
  readonly #child: ChildProcessByStdio<Writable, Readable, Readable>;
  readonly #jobId: string;
  readonly #killGrace: number;
  readonly #stderr = new LineTail(20);
  #connecting = true;
  #timeoutMs: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pendingWrite: (() => void) | undefined;
  #exit: { code: number | null; signal: string | null } | undefined;
  #bytesRead = 0;
  #bytesWritten = 0;
  /** The framed protocol's reader of srun's stdout, with the file lane. */
  readonly #spill: SpillReader | undefined;
  /** Resolves when srun has ended (and with it the step), however the connection ended. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;

  constructor(options: StepConnectionOptions) {
    super({ allowHalfOpen: false });
    validateStepOptions(options);
    this.#jobId = options.jobId;
    const spillPrefix = options.spillPrefix ?? createChunkPrefix();
    this.#killGrace = options.killGrace ?? 5000;
    const srun = options.srun ?? 'srun';
    // Its own process group: a Ctrl-C on the login side's terminal is the login side's to
    // handle (it ends steps through destroy()), not a signal every srun gets at once.
    this.#child = spawn(srun, buildStepArgs({ ...options, spillPrefix }), {
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const { stdin, stdout, stderr } = this.#child;
    this.#child.once('spawn', () => {
      this.#connecting = false;
      this.emit('connect');
      this.emit('ready');
    });
    this.#child.on('error', (error) => {
      if (this.#child.pid !== undefined) return;
      this.destroy(
        new RSessionProxyError(
          'EBACKEND',
          `srun could not be started (${srun}): ${error.message}.`,
          {
            cause: error,
            hint: 'Run this on a host with the Slurm client tools, or give the path of srun.',
          },
        ),
      );
    });
    // srun's stdin breaks (EPIPE) when the step has ended; its 'close' below says how.
    stdin.on('error', () => undefined);
    stdin.on('close', () => this.#releaseWrite());
    const spill =
      options.spillDir === undefined
        ? undefined
        : new SpillReader(options.spillDir, {
            push: (bytes) => {
              this.#bytesRead += bytes.length;
              return this.push(bytes);
            },
            send: (frame) => {
              if (stdin.writable) stdin.write(frame);
            },
            pauseSource: (paused) => {
              if (paused) stdout.pause();
              else if (!this.destroyed) stdout.resume();
            },
            fail: (error) => this.destroy(error),
          });
    this.#spill = spill;
    stdout.on('data', (chunk: Buffer) => {
      // Destroyed: the rest is drained and dropped, so that srun can end.
      if (this.destroyed) return;
      this.#touch();
      if (spill) {
        spill.read(chunk);
        return;
      }
      this.#bytesRead += chunk.length;
      if (!this.push(chunk)) stdout.pause();
    });
    stderr.setEncoding('utf8');
    let partial = '';
    stderr.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.#stderr.push(line);
    });
    // 'close' comes once srun has exited and its stdout and stderr are drained: the end of the
    // data (never srun's 'exit', which can come before the last bytes are read) and the moment
    // its exit status and its last words are known.
    const { spillDir } = options;
    this.exited = new Promise((resolve) => {
      this.#child.once('close', (code, signal) => {
        if (partial !== '') this.#stderr.push(partial);
        // A relay that srun ended with a signal could not remove its chunks: the step is over,
        // so none of them is still wanted.
        if (spillDir !== undefined && code !== 0)
          void removeConnectionChunks(spillDir, spillPrefix);
        this.#exit = { code, signal };
        resolve(this.#exit);
        this.#finish();
      });
    });
  }

  #finish(): void {
    const exit = this.#exit;
    if (this.destroyed || !exit) return;
    if (exit.code === 0) {
      // The last chunks announced are still being read: they come before the end.
      if (this.#spill && !this.#spill.settled) {
        this.#spill.whenSettled(() => this.#finish());
        return;
      }
      this.push(null);
      // Like net.Socket at EOF: a connection idle in a pool (nobody reading) still ends.
      this.read(0);
      return;
    }
    this.destroy(
      new RSessionProxyError(
        'EBACKEND',
        describeStepFailure(this.#jobId, exit, this.#stderr.lines),
        {
          exitCode: exit.code,
          signal: exit.signal,
          stderr: this.#stderr.lines,
        },
      ),
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    const { stdin } = this.#child;
    this.#bytesWritten += chunk.length;
    this.#touch();
    if (!stdin.writable) {
      // The step has ended; its close decides what the reader sees.
      callback();
      return;
    }
    let flowing: boolean;
    if (this.#spill) {
      stdin.cork();
      stdin.write(encodeDataHeader(chunk.length));
      flowing = stdin.write(chunk);
      stdin.uncork();
    } else flowing = stdin.write(chunk);
    if (flowing) callback();
    else {
      this.#pendingWrite = callback;
      stdin.once('drain', () => this.#releaseWrite());
    }
  }

  #releaseWrite(): void {
    const callback = this.#pendingWrite;
    this.#pendingWrite = undefined;
    callback?.();
  }

  // The end of what is written reaches the relay as the end of its stdin: it half-closes the
  // socket to rserver and still relays the answer.
  // Framed, the stdin stays open for the acknowledgements of chunks: an end frame says it.
  override _final(callback: () => void): void {
    const { stdin } = this.#child;
    if (!stdin.writable) callback();
    else if (this.#spill) stdin.write(END_FRAME, () => callback());
    else stdin.end(() => callback());
  }

  override _read(): void {
    if (this.#spill) this.#spill.resume();
    else this.#child.stdout.resume();
  }

  // 'close' waits for srun to be gone, so that a closed connection leaves no process behind;
  // an unref()ed connection is ref()ed again for that wait, or the process would exit first.
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.setTimeout(0);
    this.#spill?.stop();
    this.#child.stdout.resume();
    this.#releaseWrite();
    this.ref();
    this.#stop();
    void this.exited.then(() => callback(error));
  }

  // srun forwards SIGTERM to the step and ends it; SIGKILL to its group if it lingers.
  #stop(): void {
    const child = this.#child;
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const pid = child.pid;
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, this.#killGrace);
    timer.unref();
    child.once('exit', () => clearTimeout(timer));
  }

  #touch(): void {
    this.#timer?.refresh();
  }

  /** Like net.Socket: 'timeout' after `ms` without reads or writes (0 turns it off). */
  setTimeout(ms: number, callback?: () => void): this {
    this.#timeoutMs = ms;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (ms > 0 && !this.destroyed) {
      this.#timer = setTimeout(() => this.emit('timeout'), ms);
      this.#timer.unref();
      if (callback) this.once('timeout', callback);
    } else if (callback) {
      this.off('timeout', callback);
    }
    return this;
  }

  get timeout(): number | undefined {
    return this.#timeoutMs;
  }

  /** Meaningless for a pipe to srun; kept so callers made for sockets work. */
  setKeepAlive(): this {
    return this;
  }

  /** Writes go out at once already: srun runs with --unbuffered. */
  setNoDelay(): this {
    return this;
  }

  // An idle pooled connection must not keep the login side's process alive (http.Agent unrefs
  // the sockets it keeps), nor an idle srun.
  unref(): this {
    this.#forEachHandle((handle) => handle.unref());
    return this;
  }

  ref(): this {
    this.#forEachHandle((handle) => handle.ref());
    return this;
  }

  #forEachHandle(action: (handle: { ref(): unknown; unref(): unknown }) => void): void {
    const child = this.#child;
    for (const handle of [child, child.stdin, child.stdout, child.stderr]) {
      action(handle as unknown as { ref(): unknown; unref(): unknown });
    }
  }

  /** Like net.Socket.destroySoon: end, then destroy once everything was written. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** True until srun has started. */
  get connecting(): boolean {
    return this.#connecting && !this.destroyed;
  }

  /** A Unix-socket-like peer: no address. */
  get remoteAddress(): undefined {
    return undefined;
  }

  get remotePort(): undefined {
    return undefined;
  }

  get remoteFamily(): undefined {
    return undefined;
  }

  address(): Record<string, never> {
    return {};
  }

  get bytesRead(): number {
    return this.#bytesRead;
  }

  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** What went through chunk files so far (zeros without a spill directory). */
  get spilled(): SpillCounts {
    return { ...(this.#spill?.counts ?? { chunks: 0, bytes: 0 }) };
  }

  /** srun's pid, once started. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** The last lines srun (and the relay, through it) wrote to stderr. */
  get stderrTail(): readonly string[] {
    return this.#stderr.lines;
  }
}

// Opens one connection to `socketPath` on the job's node, as a new Slurm step.
export function openStepConnection(options: StepConnectionOptions): StepConnection {
  return new StepConnection(options);
}
