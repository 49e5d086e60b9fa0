import { RSessionProxyError } from './errors.js';

// One path segment of a prefix: RFC 3986 pchar, without the characters that would make the
// prefix mean something else in a request line or a Location (`?`, `#`, `\`, spaces, controls).
// A `%XX` is allowed (JupyterHub's `/user/a%40b/` for the user a@b) unless it decodes to what
// the segment could not hold itself: a `/`, `\`, `.` or a control would let an encoded prefix
// hide a `/` or a `..` that the browser decodes and the front would not see.
const SEGMENT = /^(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})+$/;
const FORBIDDEN_ENCODED = /%(?:[01][0-9A-Fa-f]|2[EeFf]|5[Cc]|7[Ff])/;

/** What a prefix may be, for the errors of every option and flag that takes one. */
export const PREFIX_RULE =
  'a URL path such as /rstudio/ (no spaces, ?, # or \\, no . or .. segments, no %-encoded /, \\, . or controls)';

// The one validator of a prefix (the adapter's `prefix`, serve's `--prefix`, exec's
// `--root-path`, rserver's root path): '' (no prefix) or '/a/b', a leading slash and no trailing
// one, the form rserver itself normalises X-RStudio-Root-Path to and uses as the cookie path.
// `name` is what the user gave it as (an option, a flag, an environment variable).
export function normalizePrefix(prefix: string, name = 'the `prefix` option'): string {
  const segments = prefix.split('/').filter((segment) => segment !== '');
  for (const segment of segments) {
    if (
      !SEGMENT.test(segment) ||
      FORBIDDEN_ENCODED.test(segment) ||
      segment === '.' ||
      segment === '..'
    ) {
      throw new RSessionProxyError(
        'EINVALIDOPTION',
        `Expected ${name} to be ${PREFIX_RULE}, got ${JSON.stringify(prefix)}.`,
      );
    }
  }
  return segments.length === 0 ? '' : `/${segments.join('/')}`;
}

// The same prefix with its trailing slash ('/' for none): rserver's --www-root-path form.
export function normalizeRootPath(value: string, name = 'the `rootPath` option'): string {
  return `${normalizePrefix(value, name)}/`;
}
