// `rsession-proxy relay` loads only this file, its help text, the exit codes, the path check and
// lib/slurm/relay.ts, never lib/index.ts (nor the flag parser, which reads the library's table
// of settings): a Slurm job step starts one relay per backend connection, and loading the whole
// library would add its start-up time (about 170 ms against 10 ms, measured on a busy 2-core
// machine) to the first byte of every new connection. So it parses its one flag itself.
import { parseArgs } from 'node:util';
// eslint-disable-next-line no-restricted-imports -- the relay's start-up time, see above
import { relayUnixSocket } from '../../lib/slurm/relay.js';
// eslint-disable-next-line no-restricted-imports -- the relay's start-up time, see above
import { createFdWriter } from '../../lib/slurm/fd-writer.js';
// eslint-disable-next-line no-restricted-imports -- the relay's start-up time, see above
import { CHUNK_PREFIX } from '../../lib/slurm/relay-frames.js';
import { isPlainAbsolutePath } from './absolute-path.js';
import type { CliIo } from './command.js';
import { EXIT, UsageError } from './exit-codes.js';
import { RELAY_HELP } from './help.js';

type RelayIo = Pick<CliIo, 'stdin' | 'stdout' | 'stderr'>;

/** The signals srun passes on when the login side ends a step. */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

// A path flag's value: absolute and plain, or a usage error naming the flag.
function requirePlainPath(flag: string, value: string | undefined): string {
  if (value === undefined || value === '') {
    throw new UsageError(`rsession-proxy relay: --${flag}=PATH is required`);
  }
  if (!isPlainAbsolutePath(value)) {
    throw new UsageError(
      `rsession-proxy relay: --${flag} needs an absolute path without . or .. parts, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

// What a Slurm job step runs on the compute node: its stdio, which srun carries to the login
// node, relayed to rserver's socket until that socket closes.
async function runRelay(argv: readonly string[], io: RelayIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        socket: { type: 'string' },
        'spill-dir': { type: 'string' },
        'spill-prefix': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(`rsession-proxy relay: ${(error as Error).message}`);
  }
  if (parsed.values.help === true) {
    io.stdout.write(RELAY_HELP);
    return EXIT.ok;
  }
  const socketPath = requirePlainPath('socket', parsed.values.socket);
  const spillValue = parsed.values['spill-dir'];
  const spillDir = spillValue === undefined ? undefined : requirePlainPath('spill-dir', spillValue);
  const prefix = parsed.values['spill-prefix'];
  if (prefix !== undefined && !CHUNK_PREFIX.test(prefix)) {
    throw new UsageError(
      `rsession-proxy relay: --spill-prefix needs 16 hex digits, got ${JSON.stringify(prefix)}`,
    );
  }
  if (spillDir === undefined) {
    await relayUnixSocket(socketPath, { input: io.stdin, output: io.stdout });
    return EXIT.ok;
  }
  // srun passes the login side's end of a step on as a signal: the chunks this relay wrote and
  // nobody read are removed before it goes.
  const abort = new AbortController();
  const stop = () => abort.abort();
  for (const signal of STOP_SIGNALS) process.once(signal, stop);
  try {
    // Framed, stdout must not block: the relay watches srun fall behind (fd-writer.ts).
    const output = io.stdout === process.stdout ? createFdWriter(1) : io.stdout;
    await relayUnixSocket(
      socketPath,
      { input: io.stdin, output },
      { spillDir, prefix, signal: abort.signal, log: (line) => io.stderr.write(`${line}\n`) },
    );
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, stop);
  }
  return EXIT.ok;
}

// The whole `relay` command, for bin/rsession-proxy.ts: its usage errors and failures as one
// line on stderr (srun carries it to the login side), and the exit code.
export async function runRelayCommand(argv: readonly string[], io: RelayIo): Promise<number> {
  try {
    return await runRelay(argv, io);
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split('\n');
    if (error instanceof UsageError) {
      io.stderr.write(`${message.join(' ')}\n`);
      return EXIT.usage;
    }
    io.stderr.write(`rsession-proxy: error: ${message[0] ?? ''}\n`);
    return EXIT.failure;
  }
}
