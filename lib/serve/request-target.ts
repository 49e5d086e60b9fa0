/** An origin-form request target, split but not decoded. */
export interface RequestTarget {
  /** The path as the client sent it, e.g. `/rstudio/rpc/x`. */
  path: string;
  /** The query as the client sent it, without the `?`; '' when there is none. */
  query: string;
}

// The path and query of an origin-form target; undefined for absolute-form (`GET http://x/`),
// authority-form and asterisk-form targets, which a server of paths never follows, and for
// `//x` and `/\x`, which a browser given them as a Location reads as another host. Nothing
// is decoded here, so no target can make this throw.
export function parseTarget(target: string | undefined): RequestTarget | undefined {
  if (target === undefined || !target.startsWith('/')) return undefined;
  if (target[1] === '/' || target[1] === '\\') return undefined;
  const queryAt = target.indexOf('?');
  if (queryAt < 0) return { path: target, query: '' };
  return { path: target.slice(0, queryAt), query: target.slice(queryAt + 1) };
}

/** The target as forwarded: the path and, when one is left, the query. */
export function formatTarget(target: RequestTarget): string {
  return target.query === '' ? target.path : `${target.path}?${target.query}`;
}

// The first value of the query parameter `name`, decoded as a form is (`+`, percent escapes:
// a bad escape stays as it is, as browsers do, instead of throwing); undefined when absent.
export function getQueryParam(query: string, name: string): string | undefined {
  if (!mayHoldParam(query, name)) return undefined;
  for (const part of query.split('&')) {
    const [key, value] = decodePair(part);
    if (key === name) return value;
  }
  return undefined;
}

// The query without any parameter `name`, the other parameters exactly as the client sent them.
export function removeQueryParam(query: string, name: string): string {
  if (!mayHoldParam(query, name)) return query;
  return query
    .split('&')
    .filter((part) => decodePair(part)[0] !== name)
    .join('&');
}

// Most queries cannot hold the parameter at all: they are left unparsed (a name is spelt
// plainly, or with percent escapes).
function mayHoldParam(query: string, name: string): boolean {
  return query !== '' && (query.includes(name) || query.includes('%'));
}

// One `key=value` of a query, decoded; URLSearchParams' parser accepts any string.
function decodePair(part: string): [string | undefined, string] {
  const first = new URLSearchParams(part).entries().next();
  return first.done === true ? [undefined, ''] : first.value;
}
