// `rsession-proxy relay` loads only this file, the flag parser and lib/slurm/relay.ts, never
// lib/index.ts: a Slurm job step starts one relay per backend connection, and loading the whole
// library would add its start-up time (about 170 ms against 10 ms, measured on a busy 2-core
// machine) to the first byte of every new connection.
import { relayUnixSocket } from '../../lib/slurm/relay.js';
import { EXIT, UsageError, getExitCode } from './exit-codes.js';
import { getBoolean, getString, parseFlags, type ParsedFlags } from './flags.js';
import { RELAY_HELP } from './help.js';

export const RELAY_FLAGS = {
  socket: { type: 'string' },
} as const;

export function parseRelayFlags(argv: readonly string[]): ParsedFlags {
  return parseFlags('rsession-proxy relay', argv, RELAY_FLAGS);
}

// What a Slurm job step runs on the compute node: its stdio, which srun carries to the login
// node, relayed to rserver's socket until that socket closes.
export async function runRelay(
  flags: ParsedFlags,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
): Promise<number> {
  const socketPath = getString(flags, 'socket');
  if (socketPath === undefined) {
    throw new UsageError('rsession-proxy relay: --socket=PATH is required');
  }
  if (flags.rest.length > 0) {
    throw new UsageError(
      `rsession-proxy relay: unexpected arguments after --: ${flags.rest.join(' ')}`,
    );
  }
  await relayUnixSocket(socketPath, { input, output });
  return EXIT.ok;
}

// The whole `relay` command, for bin/rsession-proxy.ts: its usage errors and failures as one
// line on stderr (srun carries it to the login side), and the exit code.
export async function runRelayCommand(
  argv: readonly string[],
  io: {
    stdin: NodeJS.ReadableStream;
    stdout: NodeJS.WritableStream;
    stderr: NodeJS.WritableStream;
  },
): Promise<number> {
  try {
    const flags = parseRelayFlags(argv);
    if (getBoolean(flags, 'help')) {
      io.stdout.write(RELAY_HELP);
      return EXIT.ok;
    }
    return await runRelay(flags, io.stdin, io.stdout);
  } catch (error) {
    const code = getExitCode(error);
    const message = (error instanceof Error ? error.message : String(error)).split('\n');
    io.stderr.write(
      code === EXIT.usage
        ? `${message.join(' ')}\n`
        : `rsession-proxy: error: ${message[0] ?? ''}\n`,
    );
    return code;
  }
}
