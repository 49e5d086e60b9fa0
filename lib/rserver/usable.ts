import { RSessionProxyError } from '../errors.js';
import { findRServer, type FindRServerOptions } from './find.js';
import { probeRServer, type RServerProbe } from './probe.js';

// rsession-proxy needs rserver on a Unix socket, which --www-socket (RStudio Server 2024.12.0)
// brought; an older one could only listen on a port every user on the host can reach.
export function assertSocketSupport(supported: ReadonlySet<string>): void {
  if (supported.has('www-socket')) return;
  throw new RSessionProxyError(
    'ERSERVERTOOOLD',
    'This rserver cannot listen on a Unix socket: its --help has no --www-socket, which first shipped in RStudio Server 2024.12.0.',
    {
      hint: 'Install RStudio Server 2024.12.0 or newer (or point --rserver at one). rsession-proxy never falls back to a TCP port, which every user on the host could reach.',
    },
  );
}

// Finds rserver and learns from its --help that it can run here: throws ERSERVERNOTFOUND,
// ERSERVERPROBE or ERSERVERTOOOLD when it cannot, so that a server can say so when it starts
// rather than on the first request. The probe is cached, so the first start does not repeat it.
export async function findUsableRServer(options: FindRServerOptions = {}): Promise<RServerProbe> {
  const probe = await probeRServer(findRServer(options));
  assertSocketSupport(probe.options);
  return probe;
}
