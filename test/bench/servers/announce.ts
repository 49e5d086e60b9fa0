import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The line a bench server prints on stdout once it listens, then its JSON fields. */
export const READY_PREFIX = 'bench-ready ';

// Tells the runner where this server listens: one line on stdout, read by the runner.
export function announce(fields: Record<string, unknown>): void {
  process.stdout.write(`${READY_PREFIX}${JSON.stringify(fields)}\n`);
}

// The runner holds our stdin: when it closes (the runner ended or died), so do we.
export function exitWithRunner(): void {
  process.stdin.resume();
  process.stdin.once('end', () => process.exit(0));
}

// Listens on a Unix socket path, or (`'tcp'`) on 127.0.0.1 with a port the kernel picks;
// resolves the port.
export async function listenOn(server: Server, where: string): Promise<number | undefined> {
  if (where === 'tcp') server.listen(0, '127.0.0.1');
  else server.listen(where);
  await once(server, 'listening');
  return where === 'tcp' ? (server.address() as AddressInfo).port : undefined;
}
