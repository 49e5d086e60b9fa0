import { RSessionProxyError, isRSessionProxyError } from '../errors.js';
import { formatSeconds } from './readiness.js';

export interface FailureFacts {
  /** The proxy timeout in ms, when it is what ended the request. */
  timedOut?: number | undefined;
  /** rserver is between runs: the answer is 503, not 502. */
  restarting: boolean;
  /** The response had started: the client sees a cut connection, the log sees why. */
  midResponse: boolean;
  socketPath?: string | undefined;
}

// Turns what the request to rserver reports (ECONNREFUSED, ENOENT, "socket hang up") into one
// error whose message says what the user sees: a 502/504 (EBACKEND) or, while rserver restarts,
// a 503 (EUNAVAILABLE).
export function describeBackendFailure(error: Error, facts: FailureFacts): RSessionProxyError {
  const fields = { cause: error, path: facts.socketPath };
  if (facts.timedOut !== undefined) {
    return new RSessionProxyError(
      'EBACKEND',
      `RStudio did not answer within ${formatSeconds(facts.timedOut)}.`,
      fields,
    );
  }
  if (facts.midResponse) {
    return new RSessionProxyError(
      'EBACKEND',
      `RStudio broke off its answer: ${error.message}.`,
      fields,
    );
  }
  if (facts.restarting) {
    return new RSessionProxyError(
      'EUNAVAILABLE',
      `RStudio is restarting (${error.message}).`,
      fields,
    );
  }
  return new RSessionProxyError('EBACKEND', `RStudio is not reachable: ${error.message}.`, fields);
}

export function asProxyError(error: unknown): RSessionProxyError {
  if (isRSessionProxyError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RSessionProxyError('EBACKEND', message, { cause: error });
}
