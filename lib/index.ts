export { RSessionProxyError, isRSessionProxyError, type ErrorCode } from './errors.js';
export { assertPrivateDir, ensurePrivateDir } from './private-dir.js';
export {
  ensureInstanceDir,
  resolveRuntimeBase,
  validateInstanceName,
  type InstanceDir,
  type InstanceDirOptions,
  type RuntimeBase,
  type RuntimeBaseOptions,
} from './runtime-dir.js';
export {
  SOCKET_PATH_MAX_BYTES,
  assertDataDirSocketLength,
  assertSocketPathLength,
  getDataDirSocketPath,
  removeStaleSocket,
} from './socket-path.js';
export {
  acquireLock,
  readLockHolder,
  type InstanceLock,
  type LockHolder,
  type LockOptions,
} from './lock.js';
export { ensureInstanceStateDir, getStateDirs, type StateDirs } from './state-dir.js';
export type {
  Backend,
  BackendEndpoint,
  BackendState,
  ConnectionFactory,
  SocketEndpoint,
} from './backend.js';
export type { LogEntry, LogLevel, Logger } from './logger.js';
export { findRServer, RSERVER_INSTALL_PATHS, type FindRServerOptions } from './rserver/find.js';
export { probeRServer, parseHelpOptions, type RServerProbe } from './rserver/probe.js';
export {
  INSTANCE_MARKER,
  MANAGED_OPTIONS,
  buildRServerArgs,
  buildRServerEnv,
  type RServerArgsInput,
} from './rserver/arguments.js';
export { explainRServerFailure, type KnownFailure } from './rserver/known-errors.js';
export {
  normalizeLaunchOptions,
  normalizeRootPath,
  type LaunchOptions,
  type NormalizedLaunchOptions,
} from './rserver/options.js';
export { resolveInstanceLayout, type InstanceLayout } from './rserver/instance.js';
export type { RServerExit, RServerProcess } from './rserver/spawn.js';
export { launchRServer, type RServer } from './rserver/launch.js';
export {
  Supervisor,
  createSupervisor,
  type SupervisorOptions,
  type SupervisorStatus,
} from './rserver/supervisor.js';
export { createProxyAdapter, type AttachOptions, type ProxyAdapter } from './proxy/adapter.js';
export { createFixedBackend } from './proxy/fixed-backend.js';
export { type ProxyAdapterOptions } from './proxy/options.js';
export { rewriteLocation, type LocationContext } from './proxy/location.js';
export { serve, type ServeHandle, type ServeOptions } from './serve/server.js';
export { parseListenSpec, type ListenSpec } from './serve/listen.js';
export { createHostGuard, LOOPBACK_HOSTS } from './serve/host-guard.js';
