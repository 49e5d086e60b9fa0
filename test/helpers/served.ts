// Talking to a running `serve` as a script does: the token in an Authorization header, and
// rserver's sign-in cookies once signed in.
import { fetchText, type Answer, type FetchOptions } from './fetch-text.js';
import { cookieHeader, cookieJar } from './http-client.js';
import type { RunningCli } from './cli.js';

export interface SignedIn {
  /** `Authorization` and `Cookie` for every later request. */
  headers: Record<string, string>;
  /** rserver's `rs-csrf-token`, to send as `X-RS-CSRF-Token` on RPC calls. */
  csrf: string;
}

export function tokenHeader(cli: RunningCli): Record<string, string> {
  if (cli.token === undefined) throw new Error('serve printed no token');
  return { authorization: `token ${cli.token}` };
}

// One request to serve at `path` (under the origin), with the token.
export function fetchServed(
  cli: RunningCli,
  path: string,
  options: FetchOptions = {},
): Promise<Answer> {
  return fetchText(`${cli.origin}${path}`, {
    ...options,
    headers: { ...tokenHeader(cli), ...options.headers },
  });
}

// Signs in to rserver through serve (this starts rserver, and rserver starts rsession).
export async function signIn(cli: RunningCli, prefix = '/rstudio/'): Promise<SignedIn> {
  const answer = await fetchServed(cli, `${prefix}auth-sign-in?appUri=%2F`, { timeout: 30_000 });
  if (answer.status !== 302)
    throw new Error(`sign-in answered ${answer.status}: ${answer.body.slice(0, 500)}`);
  const jar = cookieJar(answer.headers);
  const csrf = jar.get('rs-csrf-token');
  if (!jar.has('user-id') || csrf === undefined)
    throw new Error(`sign-in set no cookies: ${JSON.stringify(answer.headers['set-cookie'])}`);
  return { headers: { ...tokenHeader(cli), cookie: cookieHeader(jar) }, csrf };
}

/** What serve's status endpoint says. */
export interface ServeStatus {
  state: string;
  pid: number | null;
  restarts: number;
  lastError: string | null;
}

export async function getServeStatus(cli: RunningCli, prefix = '/rstudio/'): Promise<ServeStatus> {
  const answer = await fetchServed(cli, `${prefix}_rsession-proxy/status`);
  if (answer.status !== 200) throw new Error(`status answered ${answer.status}: ${answer.body}`);
  return JSON.parse(answer.body) as ServeStatus;
}
