import { RSessionProxyError } from '../errors.js';

// `--www-frame-origin`: which pages may frame RStudio (none, same, any, or one origin).
export function validateFrameOrigin(value: string): string {
  if (['none', 'same', 'any'].includes(value)) return value;
  if (/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(value)) return value;
  throw new RSessionProxyError(
    'EINVALIDOPTION',
    `Expected the \`frameOrigin\` option to be "none", "same", "any" or an origin such as https://hub.example.org, got ${JSON.stringify(value)}.`,
  );
}
