import { randomBytes } from 'node:crypto';
import { RSessionProxyError } from '../errors.js';

/** Fewer characters than this cannot hold the ~128 bits a token needs (22 base64 characters). */
export const MIN_TOKEN_LENGTH = 22;
const MAX_TOKEN_LENGTH = 512;
/** What the crude estimate below must reach; every random token of 22+ characters clears it. */
const MIN_TOKEN_BITS = 40;

const TOKEN_CHARACTERS = /^[A-Za-z0-9._~+/=-]*$/;
const HOW_TO_GENERATE =
  'generate one with `openssl rand -base64 32` (or leave the token out: serve makes a 256-bit one)';

// 32 random bytes, URL-safe: 256 bits.
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

// The one place that decides whether a token a user picked (flag, file, environment, option)
// is good enough: long enough, URL-safe, and not a run of repeated or consecutive characters.
export function validateToken(token: unknown, source: string): string {
  const problem = getTokenProblem(token);
  if (problem === undefined) return token as string;
  throw new RSessionProxyError(
    'EINVALIDOPTION',
    `The token from ${source} ${problem}; ${HOW_TO_GENERATE}.`,
  );
}

// What is wrong with a token, in words, or undefined when nothing is.
export function getTokenProblem(token: unknown): string | undefined {
  if (typeof token !== 'string') return 'is not a string';
  if (token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH) {
    return `must be ${MIN_TOKEN_LENGTH} to ${MAX_TOKEN_LENGTH} characters long, not ${token.length}`;
  }
  if (!TOKEN_CHARACTERS.test(token)) {
    return 'may only hold URL-safe characters (letters, digits, . _ ~ + / = -)';
  }
  if (estimateTokenBits(token) < MIN_TOKEN_BITS) {
    return 'is too easy to guess (repeated or consecutive characters)';
  }
  return undefined;
}

// A rough lower bound of a token's strength: the Shannon entropy of its characters and of the
// steps between neighbours, times its length, whichever is smaller. `aaaa…` and `abab…` have
// little of the first, `abcd…` and `0123…` none of the second; random text has plenty of both.
export function estimateTokenBits(token: string): number {
  const codes = Array.from(token, (char) => char.charCodeAt(0));
  const steps = codes.slice(1).map((code, i) => code - (codes[i] ?? 0));
  return Math.min(entropy(codes) * codes.length, entropy(steps) * steps.length);
}

// Shannon entropy, in bits per value, of the values' own distribution.
function entropy(values: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / values.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}
