import { relayUnixSocket } from '../../lib/index.js';
import type { Command, CommandContext } from './command.js';
import { EXIT, UsageError } from './exit-codes.js';
import { getString, type ParsedFlags } from './flags.js';
import { RELAY_HELP } from './help.js';

// What a Slurm step runs on the compute node: its stdio, which srun carries to the login
// node, relayed to rserver's socket until that socket closes.
async function runRelay(flags: ParsedFlags, { io }: CommandContext): Promise<number> {
  const socketPath = getString(flags, 'socket');
  if (socketPath === undefined) {
    throw new UsageError('rsession-proxy relay: --socket=PATH is required');
  }
  if (flags.rest.length > 0) {
    throw new UsageError(
      `rsession-proxy relay: unexpected arguments after --: ${flags.rest.join(' ')}`,
    );
  }
  await relayUnixSocket(socketPath, { input: io.stdin, output: io.stdout });
  return EXIT.ok;
}

export const relayCommand: Command = {
  name: 'relay',
  flags: { socket: { type: 'string' } },
  help: RELAY_HELP,
  run: runRelay,
};
