export { RSessionProxyError, isRSessionProxyError, type ErrorCode } from './errors.js';
export { hasControlCharacters } from './validate.js';
export {
  ENVIRONMENT_VARIABLES,
  parseSetting,
  readEnvironment,
  readSetting,
  type DemoMode,
  type EnvironmentVariable,
  type FromEnvironment,
  type LogFormat,
  type Settings,
  type VariableScope,
} from './environment.js';
export { assertPrivateDir, ensurePrivateDir } from './private-dir.js';
export { validateInstanceName } from './instance/name.js';
export { INSTANCE_MARKER } from './instance/marker.js';
export {
  normalizeInstanceOptions,
  type InstanceOptions,
  type InstanceSpec,
} from './instance/options.js';
export {
  listRuntimeBaseCandidates,
  resolveRuntimeBase,
  type RuntimeBase,
  type RuntimeBaseCandidate,
  type RuntimeBaseOptions,
  type RuntimeBaseSource,
} from './instance/runtime-base.js';
export { resolveInstanceLayout, type InstanceLayout } from './instance/layout.js';
export { openInstance, type OpenInstance, type OpenInstanceOptions } from './instance/open.js';
export {
  SOCKET_PATH_MAX_BYTES,
  assertDataDirSocketLength,
  assertSocketPathLength,
  getDataDirSocketPath,
  removeStaleSocket,
} from './instance/socket-path.js';
export {
  acquireLock,
  readLockHolder,
  type InstanceLock,
  type LockHolder,
  type LockOptions,
} from './instance/lock.js';
export { getStateDirs, type StateDirs } from './instance/state-dir.js';
export { writeStatusRecord, type StatusJob, type StatusRecord } from './instance/status.js';
export { listInstances, type InstanceList, type InstanceStatus } from './instance/list.js';
export { stopInstance, type StopInstanceOptions, type StopResult } from './instance/stop.js';
export type {
  Backend,
  BackendEndpoint,
  BackendState,
  ConnectionFactory,
  SignInCookies,
  SignInRequest,
  SocketEndpoint,
} from './backend.js';
export type { LogEntry, LogLevel, Logger } from './logger.js';
export {
  findR,
  findRServer,
  RSERVER_INSTALL_PATHS,
  type FindRServerOptions,
} from './rserver/find.js';
export { assertSocketSupport, findUsableRServer } from './rserver/usable.js';
export { probeRServer, parseHelpOptions, type RServerProbe } from './rserver/probe.js';
export {
  MANAGED_OPTIONS,
  buildRServerArgs,
  buildRServerEnv,
  type RServerArgsInput,
} from './rserver/arguments.js';
export { explainRServerFailure, type KnownFailure } from './rserver/known-errors.js';
export {
  normalizeLaunchOptions,
  type LaunchOptions,
  type NormalizedLaunchOptions,
} from './rserver/options.js';
export { normalizePrefix, normalizeRootPath } from './url-prefix.js';
export type { RServerExit, RServerProcess } from './rserver/running.js';
export {
  ISOLATION_OPTIONS,
  type Isolation,
  type IsolationLevel,
  type IsolationOption,
} from './rserver/isolation.js';
export { detectIsolation, type ResolvedIsolation } from './rserver/resolve-isolation.js';
export { launchRServer, type RServer } from './rserver/launch.js';
export {
  Supervisor,
  createSupervisor,
  type SupervisorOptions,
  type SupervisorStatus,
} from './rserver/supervisor.js';
export { type BackoffOptions } from './rserver/backoff.js';
export { createProxyAdapter, type AttachOptions, type ProxyAdapter } from './proxy/adapter.js';
export { createFixedBackend } from './proxy/fixed-backend.js';
export { type ProxyAdapterOptions } from './proxy/options.js';
export { rewriteLocation, type LocationContext } from './proxy/location.js';
export { serve, type ServeHandle, type ServeOptions } from './serve/server.js';
export type { ServedBackend, ServedBackendFactory, ServedStatus } from './serve/served-backend.js';
export {
  normalizeServeOptions,
  type NormalizedServeOptions,
  type TokenSource,
} from './serve/options.js';
export { generateToken, getTokenProblem, validateToken } from './serve/token.js';
export { readTokenFile } from './serve/token-file.js';
export { parseListenSpec, type ListenSpec } from './serve/listen.js';
export { createHostGuard, LOOPBACK_HOSTS, validateAllowHost } from './serve/host-guard.js';
export { runDoctor, type DoctorCheck, type DoctorOptions } from './doctor.js';
export { relayUnixSocket, type RelayStdio } from './slurm/relay.js';
export { serveExec, type ExecHandle } from './exec/serve-exec.js';
export { type ExecOptions, type JobExecOptions } from './exec/options.js';
export { startJobServer, type JobServer } from './exec/job-server.js';
export { getSignalExitStatus } from './exec/exit-status.js';
export {
  SlurmBackend,
  createSlurmBackend,
  type SlurmBackendOptions,
  type SlurmProgress,
} from './slurm/backend.js';
export { hasEnded, readJob, type JobInfo } from './slurm/job-info.js';
export { describeWaiting, formatDuration } from './slurm/job-messages.js';
export { cancelRecordedJob, findRecordedJob } from './slurm/recorded-job.js';
export { openJobSide, type JobSide } from './slurm/node-report.js';
export {
  StepConnection,
  openStepConnection,
  type StepConnectionOptions,
} from './slurm/step-connection.js';
export { getSlurmClientEnv } from './slurm/slurm-env.js';
