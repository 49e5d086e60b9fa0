import {
  describeEndpoint,
  isSocketEndpoint,
  type Backend,
  type BackendEndpoint,
} from '../backend.js';
import { RSessionProxyError, isRSessionProxyError } from '../errors.js';
import { formatSeconds, isRestarting } from './readiness.js';

export interface FailureFacts {
  /** The proxy timeout in ms, when it is what ended the request. */
  timedOut?: number | undefined;
  /** rserver is between runs: the answer is 503, not 502. */
  restarting: boolean;
  /** Why rserver is between runs, when the backend knows. */
  reason?: string | undefined;
  /** The response had started: the client sees a cut connection, the log sees why. */
  midResponse: boolean;
  endpoint?: BackendEndpoint | undefined;
}

// Turns what the request to rserver reports (ECONNREFUSED, ENOENT, "socket hang up") into one
// error whose message says what the user sees: a 502/504 (EBACKEND) or, while rserver restarts,
// a 503 (EUNAVAILABLE). A socket's path is in the connection errors already; a connection
// factory is named.
export function describeBackendFailure(error: Error, facts: FailureFacts): RSessionProxyError {
  const { endpoint } = facts;
  const socket = endpoint === undefined || isSocketEndpoint(endpoint);
  const fields = {
    cause: error,
    path: endpoint && socket ? describeEndpoint(endpoint) : undefined,
  };
  const detail = socket ? error.message : `${error.message} (${describeEndpoint(endpoint)})`;
  if (facts.timedOut !== undefined) {
    return new RSessionProxyError(
      'EBACKEND',
      `RStudio did not answer within ${formatSeconds(facts.timedOut)}.`,
      fields,
    );
  }
  if (facts.midResponse) {
    return new RSessionProxyError('EBACKEND', `RStudio broke off its answer: ${detail}.`, fields);
  }
  if (facts.restarting) {
    return new RSessionProxyError(
      'EUNAVAILABLE',
      facts.reason === undefined
        ? `RStudio is restarting (${detail}).`
        : `RStudio is restarting: ${facts.reason}`,
      fields,
    );
  }
  return new RSessionProxyError('EBACKEND', `RStudio is not reachable: ${detail}.`, fields);
}

export interface Verdict {
  failure: RSessionProxyError;
  /** 504 when the proxy timeout ended it, 503 while rserver restarts, else 502. */
  status: number;
  restarting: boolean;
}

// What a failed exchange with rserver comes to, given the backend's state now.
export function judgeBackendFailure(
  backend: Backend,
  error: Error,
  facts: Omit<FailureFacts, 'restarting' | 'reason'>,
): Verdict {
  const restarting = isRestarting(backend);
  const failure = describeBackendFailure(error, {
    ...facts,
    restarting,
    reason: restarting ? backend.lastError?.message : undefined,
  });
  const status = facts.timedOut !== undefined ? 504 : restarting ? 503 : 502;
  return { failure, status, restarting };
}

// A connection that could not be made may mean rserver's socket is gone (a temporary-file
// cleaner): the backend is asked to check at once rather than at its next watch, so that the
// answer can tell the client why and to retry (503), not give a bare 502.
export async function checkBackend(backend: Backend, error: Error): Promise<void> {
  const { code } = error as NodeJS.ErrnoException;
  if (code === 'ENOENT' || code === 'ECONNREFUSED') {
    await backend.check?.().catch(() => undefined);
  }
}

export function asProxyError(error: unknown): RSessionProxyError {
  if (isRSessionProxyError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RSessionProxyError('EBACKEND', message, { cause: error });
}
