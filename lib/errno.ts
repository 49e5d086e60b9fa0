// Narrows an unknown thrown value to a Node system error, optionally with a given errno code.
export function isErrnoException(error: unknown, code?: string): error is NodeJS.ErrnoException {
  return (
    error instanceof Error &&
    typeof (error as NodeJS.ErrnoException).code === 'string' &&
    (code === undefined || (error as NodeJS.ErrnoException).code === code)
  );
}
