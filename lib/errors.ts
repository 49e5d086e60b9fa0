// Every failure the library reports is one RSessionProxyError with a `code` from this closed
// union; docs/errors.md lists each code, what it means and what to do.
export type ErrorCode =
  | 'EINVALIDOPTION'
  | 'ENOTPRIVATE'
  | 'EPATHTOOLONG'
  | 'ELOCKED'
  | 'ECOMPROMISED'
  | 'ESOCKETPATH'
  | 'EBACKEND'
  | 'EUNAVAILABLE'
  | 'EAUTHORIZE';

export interface ErrorFields {
  /** The file or directory the error is about. */
  path?: string;
  /** The original error. */
  cause?: unknown;
  /** One line saying what to do about it. */
  hint?: string;
  /** The process the error is about: a lock's holder, an rserver. */
  pid?: number;
}

export class RSessionProxyError extends Error {
  override readonly name = 'RSessionProxyError';
  readonly code: ErrorCode;
  readonly path: string | undefined;
  readonly hint: string | undefined;
  readonly pid: number | undefined;

  constructor(code: ErrorCode, message: string, fields: ErrorFields = {}) {
    super(fields.hint ? `${message}\n${fields.hint}` : message, { cause: fields.cause });
    this.code = code;
    this.path = fields.path;
    this.hint = fields.hint;
    this.pid = fields.pid;
  }
}

// Narrows an unknown thrown value to our own error, optionally of one code.
export function isRSessionProxyError(
  error: unknown,
  code?: ErrorCode,
): error is RSessionProxyError {
  return error instanceof RSessionProxyError && (code === undefined || error.code === code);
}
