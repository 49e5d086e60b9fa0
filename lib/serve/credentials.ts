import type { IncomingMessage } from 'node:http';
import { removeFrontCookies } from './cookie.js';
import { formatTarget, removeQueryParam, type RequestTarget } from './request-target.js';

// The token and the front's cookie are the front's alone: rserver, rsession and the apps in the
// session (which see what rserver passes on) never get them, from the query, Authorization or
// Cookie. rserver's own cookies pass unchanged. Headers are set to undefined rather than deleted
// (the adapter skips them just the same): deleting a property of the headers object turns it
// into a slow dictionary for V8, and took serve's CPU per request from the adapter's to 1.5x it
// (npm run bench, --cpu-prof).
export function removeCredentials(req: IncomingMessage, target: RequestTarget): void {
  const query = removeQueryParam(target.query, 'token');
  if (query !== target.query) req.url = formatTarget({ path: target.path, query });
  if (req.headers.authorization !== undefined) req.headers.authorization = undefined;
  const cookie = req.headers.cookie;
  if (cookie !== undefined) {
    const kept = removeFrontCookies(cookie);
    if (kept !== cookie) req.headers.cookie = kept;
  }
}
