import { relayUnixSocket } from '../../lib/slurm/relay.js';
import { EXIT, UsageError } from './exit-codes.js';
import { getString, parseFlags, type ParsedFlags } from './flags.js';

export const RELAY_FLAGS = {
  socket: { type: 'string' },
} as const;

export function parseRelayFlags(argv: readonly string[]): ParsedFlags {
  return parseFlags('rsession-proxy relay', argv, RELAY_FLAGS);
}

// What a Slurm step runs on the compute node: its stdio, which srun carries to the login
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
