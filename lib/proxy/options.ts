import type { IncomingMessage } from 'node:http';
import type { Backend } from '../backend.js';
import { RSessionProxyError } from '../errors.js';
import { createFixedBackend } from './fixed-backend.js';
import { normalizePrefix } from '../url-prefix.js';

export interface ProxyAdapterOptions {
  /** The rserver to reach: a Backend (the supervisor) or the path of a socket rserver listens on. */
  backend: Backend | string;
  /** Where the client sees RStudio, e.g. '/rstudio'. Default: Express's mount path, else none. */
  prefix?: string | undefined;
  /**
   * Runs for every request and WebSocket upgrade before anything reaches rserver (or starts it).
   * Return false to answer 403; a throw answers 500. Default: every request is allowed (the
   * embedding server has authenticated it).
   */
  authorize?: ((req: IncomingMessage) => boolean | Promise<boolean>) | undefined;
  /** Believe X-Forwarded-Proto/-Host/-For from the client (behind a proxy you run). Default false. */
  trustProxy?: boolean | undefined;
  /** How long a request waits for rserver to start before a 503, in ms. Default 60 000. */
  startTimeout?: number | undefined;
  /** How long rserver may stay silent on a request, in ms; 0 for no limit. Default 1 hour. */
  proxyTimeout?: number | undefined;
  /** Called with every failure the adapter answers for (502, 503, 504, 500), for logging. */
  onError?: ((error: RSessionProxyError, req: IncomingMessage) => void) | undefined;
}

export interface NormalizedOptions {
  backend: Backend;
  prefix: string | undefined;
  authorize: ((req: IncomingMessage) => boolean | Promise<boolean>) | undefined;
  trustProxy: boolean;
  startTimeout: number;
  proxyTimeout: number;
  onError: (error: RSessionProxyError, req: IncomingMessage) => void;
}

// Every default in one place; each value checked once, here, with a message naming it.
export function normalizeAdapterOptions(options: ProxyAdapterOptions): NormalizedOptions {
  const {
    backend,
    prefix,
    authorize,
    trustProxy = false,
    startTimeout = 60_000,
    proxyTimeout = 3_600_000,
    onError = () => undefined,
  } = { ...options };
  return {
    backend: normalizeBackend(backend),
    prefix: prefix === undefined ? undefined : normalizePrefix(prefix),
    authorize: validateFunction(authorize, 'authorize'),
    trustProxy: validateBoolean(trustProxy, 'trustProxy'),
    startTimeout: validateDuration(startTimeout, 'startTimeout', false),
    proxyTimeout: validateDuration(proxyTimeout, 'proxyTimeout', true),
    onError: validateFunction(onError, 'onError') ?? (() => undefined),
  };
}

function normalizeBackend(backend: unknown): Backend {
  if (typeof backend === 'string') return createFixedBackend(backend);
  if (
    typeof backend === 'object' &&
    backend !== null &&
    typeof (backend as Partial<Backend>).ensureRunning === 'function'
  ) {
    return backend as Backend;
  }
  throw invalid('backend', 'a Backend or an rserver socket path', backend);
}

function validateDuration(value: unknown, name: string, zeroAllowed: boolean): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= (zeroAllowed ? 0 : 1)) {
    return value;
  }
  const what = zeroAllowed ? 'a non-negative integer (ms)' : 'a positive integer (ms)';
  throw invalid(name, what, value);
}

function validateBoolean(value: unknown, name: string): boolean {
  if (typeof value === 'boolean') return value;
  throw invalid(name, 'a boolean', value);
}

function validateFunction<T>(value: T | undefined, name: string): T | undefined {
  if (value === undefined || typeof value === 'function') return value;
  throw invalid(name, 'a function', value);
}

function invalid(name: string, expected: string, value: unknown): RSessionProxyError {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return new RSessionProxyError(
    'EINVALIDOPTION',
    `Expected \`${name}\` to be ${expected}, got ${shown}.`,
  );
}
