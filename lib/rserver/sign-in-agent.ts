import { setTimeout as delay } from 'node:timers/promises';
import type { SignInCookies, SignInRequest } from '../backend.js';
import { RSessionProxyError } from '../errors.js';
import { signInAtSocket, type SignInCredentials } from './sign-in.js';

/** The user-id cookie of a Cookie or Set-Cookie header. */
const USER_ID = /(?:^|;\s*)user-id=([^;\s]+)/;

/** A sign-in's cookies sent back to the sign-in page this often within this time: a loop. */
const LOOP_RETURNS = 3;
const LOOP_WINDOW = 30_000;
/** How many issued cookies are remembered for that. */
const REMEMBERED = 32;

/** rserver's cookies expire to the second; past its end by this margin (ms) against clock skew. */
const SECOND = 1000;
const SECOND_MARGIN = 20;

// The user-id values of a sign-in's Set-Cookie lines.
function getUserIds(cookies: SignInCookies): string[] {
  return cookies.setCookie.flatMap((line) => {
    const value = USER_ID.exec(line.split(';')[0] ?? '')?.[1];
    return value === undefined ? [] : [value];
  });
}

// The headers a sign-in's cookies depend on: concurrent sign-ins for the same ones are one.
function getSignInKey(request: SignInRequest): string {
  const pick = (name: string) => String(request.headers[name] ?? '');
  return [
    pick('host'),
    pick('x-forwarded-proto'),
    pick('x-forwarded-host'),
    pick('x-rstudio-root-path'),
  ].join('\n');
}

/**
 * Signs browsers in at one rserver with its launch's credentials: concurrent requests for the
 * same client origin share one sign-in (a page load sends several requests at once), and a
 * browser that keeps coming back to the sign-in page with cookies just given to it (rserver
 * refuses them) gets an error naming the loop instead of an endless round of sign-ins.
 */
export class SignInAgent {
  readonly #socketPath: string;
  readonly #credentials: SignInCredentials;
  readonly #now: () => number;
  readonly #pending = new Map<string, Promise<SignInCookies>>();
  readonly #issued = new Map<string, { at: number; returns: number }>();

  constructor(socketPath: string, credentials: SignInCredentials, now: () => number = Date.now) {
    this.#socketPath = socketPath;
    this.#credentials = credentials;
    this.#now = now;
  }

  signIn(request: SignInRequest): Promise<SignInCookies> {
    this.#checkLoop(request.cookie);
    const key = getSignInKey(request);
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = this.#signInAfresh(request).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    return pending;
  }

  // rserver's user-id cookie carries its expiry to the second, so two sign-ins within one second
  // get the same value, and a sign-out in between has revoked it (the browser would loop): a
  // cookie issued before is not handed out again; the sign-in is made again in the next second.
  async #signInAfresh(request: SignInRequest): Promise<SignInCookies> {
    let cookies = await signInAtSocket(this.#socketPath, this.#credentials, request);
    if (this.#issuedBefore(cookies)) {
      await delay(SECOND - (this.#now() % SECOND) + SECOND_MARGIN, undefined, { ref: false });
      cookies = await signInAtSocket(this.#socketPath, this.#credentials, request);
    }
    this.#remember(cookies);
    return cookies;
  }

  #issuedBefore(cookies: SignInCookies): boolean {
    return getUserIds(cookies).some((value) => this.#issued.has(value));
  }

  // A cookie of ours back at the sign-in page once is a sign-out or an expiry; several times in a
  // short while, rserver is refusing it.
  #checkLoop(cookie: string | undefined): void {
    const value = USER_ID.exec(cookie ?? '')?.[1];
    const issued = value === undefined ? undefined : this.#issued.get(value);
    if (issued === undefined || this.#now() - issued.at > LOOP_WINDOW) return;
    issued.returns += 1;
    if (issued.returns < LOOP_RETURNS) return;
    throw new RSessionProxyError(
      'ESIGNIN',
      `rserver keeps sending the browser back to its sign-in page with the cookies of a sign-in made ${Math.round((this.#now() - issued.at) / 1000)} s ago: it does not accept them.`,
      {
        hint: 'Check that the browser reaches RStudio under one address and scheme (a cookie marked Secure is not sent over plain http), and that nothing between strips cookies.',
      },
    );
  }

  #remember(cookies: SignInCookies): void {
    for (const value of getUserIds(cookies)) {
      // The same cookie issued again (within its second) keeps its count: rserver may refuse it.
      if (!this.#issued.has(value)) this.#issued.set(value, { at: this.#now(), returns: 0 });
    }
    for (const key of this.#issued.keys()) {
      if (this.#issued.size <= REMEMBERED) break;
      this.#issued.delete(key);
    }
  }
}
