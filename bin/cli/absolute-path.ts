// No import of the library: `rsession-proxy relay` loads this file and must start fast.

// An absolute path without `.` or `..` parts: what every flag that names a file must be.
export function isPlainAbsolutePath(value: string): boolean {
  return value.startsWith('/') && !value.split('/').some((part) => part === '.' || part === '..');
}
