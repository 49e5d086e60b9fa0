// Every failure the library reports is one RSessionProxyError with a `code` from this closed
// union; docs/errors.md lists each code, what it means and what to do.
export type ErrorCode =
  | 'EINVALIDOPTION'
  | 'ENOTPRIVATE'
  | 'EPATHTOOLONG'
  | 'ELOCKED'
  | 'ECOMPROMISED'
  | 'ERSERVERNOTFOUND'
  | 'ERSERVERPROBE'
  | 'ERSERVERTOOOLD'
  | 'ERSERVEREXITED'
  | 'ERSERVERTIMEOUT'
  | 'ERSERVERCRASHED'
  | 'EISOLATION'
  | 'ESIGNIN'
  | 'EABORTED'
  | 'ECLOSED'
  | 'EBACKEND'
  | 'EUNAVAILABLE'
  | 'EAUTHORIZE'
  | 'ESLURM'
  | 'EJOBENDED';

export interface ErrorFields {
  /** The file or directory the error is about. */
  path?: string;
  /** The original error. */
  cause?: unknown;
  /** One line saying what to do about it. */
  hint?: string;
  /** The process the error is about: a lock's holder, an rserver. */
  pid?: number;
  /** How rserver ended, when it did. */
  exitCode?: number | null;
  signal?: string | null;
  /** The last lines rserver wrote to stderr. */
  stderr?: readonly string[];
}

export class RSessionProxyError extends Error {
  override readonly name = 'RSessionProxyError';
  readonly code: ErrorCode;
  readonly path: string | undefined;
  readonly hint: string | undefined;
  readonly pid: number | undefined;
  readonly exitCode: number | null | undefined;
  readonly signal: string | null | undefined;
  readonly stderr: readonly string[] | undefined;

  constructor(code: ErrorCode, message: string, fields: ErrorFields = {}) {
    super(fields.hint ? `${message}\n${fields.hint}` : message, { cause: fields.cause });
    this.code = code;
    this.path = fields.path;
    this.hint = fields.hint;
    this.pid = fields.pid;
    this.exitCode = fields.exitCode;
    this.signal = fields.signal;
    this.stderr = fields.stderr;
  }
}

// Narrows an unknown thrown value to our own error, optionally of one code.
export function isRSessionProxyError(
  error: unknown,
  code?: ErrorCode,
): error is RSessionProxyError {
  return error instanceof RSessionProxyError && (code === undefined || error.code === code);
}
