import { RSessionProxyError } from '../errors.js';
import { findRServer, type FindRServerOptions } from './find.js';
import { probeRServer, type RServerProbe } from './probe.js';
import { getReleaseNeeds } from './release.js';

// A Unix socket of rserver's own needs --www-socket (RStudio Server 2024.12.0); an older
// rserver runs in a network namespace of its own or behind a password instead (isolation.ts),
// never on a TCP port by surprise.
export function assertSocketSupport(supported: ReadonlySet<string>): void {
  if (supported.has('www-socket')) return;
  throw new RSessionProxyError(
    'ERSERVERTOOOLD',
    'This rserver cannot listen on a Unix socket: its --help has no --www-socket, which first shipped in RStudio Server 2024.12.0.',
    {
      hint: 'Install RStudio Server 2024.12.0 or newer, or let rsession-proxy run this one in a network namespace of its own (--isolation=auto or namespace).',
    },
  );
}

// Finds rserver and learns from its --help and --version that it can run here: throws
// ERSERVERNOTFOUND, ERSERVERPROBE or ERSERVERTOOOLD (before 1.4) when it cannot, so that a server
// can say so when it starts rather than on the first request. The probe is cached, so the first
// start does not repeat it.
export async function findUsableRServer(options: FindRServerOptions = {}): Promise<RServerProbe> {
  const probe = await probeRServer(findRServer(options));
  getReleaseNeeds(probe);
  return probe;
}
