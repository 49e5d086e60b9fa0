/** The environment variable the runner passes request headers in (the serve token). */
export const HEADERS_ENV = 'BENCH_HEADERS';

export function readHeaders(): Record<string, string> {
  return JSON.parse(process.env[HEADERS_ENV] ?? '{}') as Record<string, string>;
}
