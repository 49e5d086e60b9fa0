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
export type { Backend, BackendState } from './backend.js';
export { createProxyAdapter, type AttachOptions, type ProxyAdapter } from './proxy/adapter.js';
export { createFixedBackend } from './proxy/fixed-backend.js';
export { type ProxyAdapterOptions } from './proxy/options.js';
export { rewriteLocation, type LocationContext } from './proxy/location.js';
