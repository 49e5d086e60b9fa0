// Control characters (NUL, newlines…) have no place in paths, URL paths or names: they end
// strings early in C, split log lines and headers.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\0-\x1f\x7f]/;

export function hasControlCharacters(value: string): boolean {
  return CONTROL_CHARACTERS.test(value);
}
