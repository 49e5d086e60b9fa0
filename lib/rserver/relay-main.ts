// The relay inside rserver's network namespace, started beside rserver by the namespace's setup
// (namespace-setup.ts): `node relay-main.js <socket> <port>` exposes 127.0.0.1:<port> of the
// namespace as <socket>, a Unix socket in the instance's private directory. It runs until the
// namespace ends (the kernel ends it with rserver); SIGTERM ends it sooner.
import { fileURLToPath } from 'node:url';
import { startTcpRelay } from './tcp-relay.js';

/**
 * This file, as the namespace's setup runs it. Spelled from dist/ rather than as
 * `import.meta.url` itself: in the CLI's bundle (dist/bin/cli/main.js, two levels below dist/
 * as this file is) import.meta.url is the bundle's, which is not this relay.
 */
export const RELAY_MAIN = fileURLToPath(
  new URL('../../lib/rserver/relay-main.js', import.meta.url),
);

// Checks the arguments and runs the relay; a bad command line is the launcher's bug, said so.
async function main(argv: readonly string[]): Promise<void> {
  const [socketPath = '', portText = ''] = argv;
  const port = Number(portText);
  if (!socketPath.startsWith('/') || !Number.isInteger(port) || port < 1 || port > 65535) {
    process.stderr.write(`rsession-proxy relay: expected <socket> <port>, got ${argv.join(' ')}\n`);
    process.exit(2);
  }
  const relay = await startTcpRelay(socketPath, port);
  process.once('SIGTERM', () => void relay.close().then(() => process.exit(0)));
}

if (process.argv[1] === RELAY_MAIN) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(
      `rsession-proxy relay: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  });
}
