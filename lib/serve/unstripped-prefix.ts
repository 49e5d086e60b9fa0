// The pages of RStudio's that a browser reaches first, below its root path: the IDE itself and
// the sign-in. RStudio has no such path of its own under a directory named like the prefix
// (its GWT files are under /rstudio/, but never /rstudio/auth-sign-in), so one of these below
// the prefix means a proxy in front passed the prefix on.
const ENTRY_PAGES = new Set(['', 'auth-sign-in', 'auth-do-sign-in', 'auth-sign-out']);

// Whether a request path still carries the prefix that the proxy in front should have removed
// (configurable-http-proxy without --no-include-prefix). rserver would answer it with a redirect
// to its sign-in under the prefix, which comes back with the prefix again: an endless loop,
// which this check turns into a page that says what to fix. `prefix` has a leading and a
// trailing slash.
export function carriesPrefix(path: string, prefix: string): boolean {
  if (prefix === '/') return false;
  if (path === prefix.slice(0, -1)) return true;
  if (!path.startsWith(prefix)) return false;
  return ENTRY_PAGES.has(path.slice(prefix.length));
}

// What the page says: the prefix, and what to set on the proxy in front.
export function describeUnstrippedPrefix(prefix: string): string {
  return (
    `This request still carries the prefix ${prefix}, which the proxy in front must remove before passing the request on ` +
    `(rserver would otherwise redirect the browser to its sign-in in an endless loop). ` +
    `configurable-http-proxy: start it with --no-include-prefix. nginx: end the proxy_pass URL with a slash (proxy_pass http://unix:/path/to.sock:/;). ` +
    `jupyter-server-proxy strips it itself.`
  );
}
