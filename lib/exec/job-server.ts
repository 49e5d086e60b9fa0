import { RSessionProxyError } from '../errors.js';
import type { InstanceLayout } from '../instance/layout.js';
import type { Isolation } from '../rserver/isolation.js';
import { launchRServer } from '../rserver/launch.js';
import { detectIsolation } from '../rserver/resolve-isolation.js';
import type { RServerProcess } from '../rserver/running.js';
import { startFront } from '../serve/server.js';
import { normalizeJobExecOptions, type JobExecOptions } from './options.js';

/** What serves RStudio in the batch job of `rsession-proxy slurm`, ready. */
export interface JobServer {
  /** The socket the login side reaches through job steps, in a private directory of the node. */
  readonly socketPath: string;
  /** rserver itself listens there (a socket of its own); false: exec's front, which signs in. */
  readonly direct: boolean;
  readonly rserver: RServerProcess;
  readonly instance: InstanceLayout;
  readonly isolation: Isolation;
  /** Stops accepting, stops rserver and every process it started, removes the instance. */
  close(): Promise<void>;
}

// rserver in the job, where the login side reaches it. An rserver on a socket of its own
// (--www-socket) is reached as it is, with no hop more. One run with a password nobody types
// (isolation `namespace` or `password`) sends browsers to its sign-in page, and the login side,
// a Slurm backend without the password, could not sign them in: exec's own front (the adapter,
// which signs in with the launch's password) is put on the socket instead. Either way rserver is
// not started again here when it ends: its end is the job's, and the login side submits a new
// one. A start that fails leaves nothing behind.
export async function startJobServer(options: JobExecOptions): Promise<JobServer> {
  const { isolation } = await detectIsolation(options);
  if (!isolation.password) {
    const rserver = await launchRServer({ ...options, ephemeral: true });
    return {
      socketPath: rserver.socketPath,
      direct: true,
      rserver,
      instance: rserver.instance,
      isolation: rserver.isolation,
      close: () => rserver.stop(),
    };
  }
  const front = await startFront(normalizeJobExecOptions(options));
  try {
    await front.backend.ensureRunning();
    const rserver = front.supervisor?.rserver;
    if (rserver === undefined || !('path' in front.listener)) {
      throw new RSessionProxyError('ECLOSED', 'rserver stopped as soon as it was ready.');
    }
    return {
      socketPath: front.listener.path,
      direct: false,
      rserver,
      instance: front.layout,
      isolation: rserver.isolation,
      close: () => front.close(),
    };
  } catch (error) {
    await front.close();
    throw error;
  }
}
