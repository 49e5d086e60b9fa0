import { RSessionProxyError } from '../errors.js';
import { explainRServerFailure } from './known-errors.js';

export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

// "code 1" / "signal SIGKILL"
function describeExit({ code, signal }: ExitStatus): string {
  return signal ? `signal ${signal}` : `code ${code ?? 'unknown'}`;
}

// The message with rserver's most telling line appended, and the hint for a known failure.
function withTail(
  message: string,
  tail: readonly string[],
): { message: string; hint: string | undefined } {
  const known = explainRServerFailure(tail);
  const last = known?.line ?? tail.findLast((line) => line.trim() !== '');
  return {
    message: last ? `${message}: ${last}` : `${message} (it printed nothing)`,
    hint: known?.hint,
  };
}

// Cancelling a start is reported like every other failure: one error class, its own code.
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new RSessionProxyError('EABORTED', 'The start of rserver was cancelled.', {
      cause: signal.reason,
    });
  }
}

// The process could not be started at all (no such file, not executable).
export function createSpawnError(path: string, cause: unknown, reason: string): RSessionProxyError {
  return new RSessionProxyError('ERSERVEREXITED', `rserver could not be started: ${reason}`, {
    path,
    cause,
  });
}

// rserver ended: how (its exit status), its own most telling line and a hint, under `code`.
function createEndedError(
  code: 'ERSERVEREXITED' | 'ERSERVERCRASHED',
  message: string,
  pid: number,
  exit: ExitStatus,
  tail: readonly string[],
): RSessionProxyError {
  const explained = withTail(message, tail);
  return new RSessionProxyError(code, explained.message, {
    pid,
    exitCode: exit.code,
    signal: exit.signal,
    stderr: tail,
    ...(explained.hint && { hint: explained.hint }),
  });
}

// rserver ended before it answered.
export function createExitedError(
  pid: number,
  exit: ExitStatus,
  tail: readonly string[],
): RSessionProxyError {
  const message = `rserver exited with ${describeExit(exit)} before it was ready`;
  return createEndedError('ERSERVEREXITED', message, pid, exit, tail);
}

// rserver ran but never answered on its socket within the timeout (it was stopped).
export function createTimeoutError(
  pid: number,
  socketPath: string,
  timeout: number,
  tail: readonly string[],
): RSessionProxyError {
  const seconds = Math.round(timeout / 100) / 10;
  const { message, hint } = withTail(
    `rserver (pid ${pid}) did not answer on ${socketPath} within ${seconds} s`,
    tail,
  );
  return new RSessionProxyError('ERSERVERTIMEOUT', message, {
    pid,
    stderr: tail,
    hint:
      hint ??
      'Start-up can take long on a busy host: raise --timeout (RSERVER_TIMEOUT, in seconds).',
  });
}

// rserver ended without being asked to, after it was ready.
export function createCrashError(
  pid: number,
  exit: ExitStatus,
  tail: readonly string[],
): RSessionProxyError {
  const message = `rserver (pid ${pid}) exited with ${describeExit(exit)} while running`;
  return createEndedError('ERSERVERCRASHED', message, pid, exit, tail);
}
