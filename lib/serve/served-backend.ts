import type { Backend } from '../backend.js';
import type { InstanceLayout } from '../instance/layout.js';
import type { StatusJob } from '../instance/status.js';
import type { SupervisorOptions, SupervisorStatus } from '../rserver/supervisor.js';

/** What serve() reports about whatever runs rserver (its status endpoint, the status file). */
export interface ServedStatus extends SupervisorStatus {
  /** What the status file calls the instance; default `serve`. */
  kind?: 'serve' | 'slurm' | undefined;
  /** The Slurm job that runs rserver, for a backend that is one (socketPath is on its node). */
  job?: StatusJob | undefined;
}

/**
 * What serve() needs from whatever runs rserver: the supervisor, or a Slurm job
 * (createSlurmBackend). Events: `state`; `status` when `status` changed otherwise (the status
 * file is written again); `crash` (an Error) when rserver went away by itself.
 */
export interface ServedBackend extends Backend {
  /** Takes the instance's private directory and lock before serve listens. */
  open(): Promise<InstanceLayout>;
  /** Stops rserver (the idle timeout); the next request starts it again. */
  stop(): Promise<void>;
  /** Stops rserver and releases the instance. */
  close(): Promise<void>;
  readonly status: ServedStatus;
}

/** Makes serve's backend from the launcher options serve normalized (rootPath is its prefix). */
export type ServedBackendFactory = (options: SupervisorOptions) => ServedBackend;
