import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { RSessionProxyError } from '../errors.js';
import { formatMode } from '../private-dir.js';
import { describeUid } from '../users.js';

// 32 random bytes, URL-safe.
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

const TOKEN_PATTERN = /^[A-Za-z0-9._~+/=-]{16,512}$/;

export function validateToken(token: string, source: string): string {
  if (!TOKEN_PATTERN.test(token)) {
    throw new RSessionProxyError(
      'EINVALIDOPTION',
      `The token from ${source} must be 16 to 512 URL-safe characters (letters, digits, . _ ~ + / = -).`,
    );
  }
  return token;
}

// Reads a token file that only its owner can read: a token others can read protects nothing.
export async function readTokenFile(path: string): Promise<string> {
  const stats = await lstat(path).catch((error: unknown) => {
    throw new RSessionProxyError(
      'EINVALIDOPTION',
      `Cannot read the token file ${path}: ${(error as Error).message}.`,
      { path, cause: error },
    );
  });
  const uid = process.getuid?.() ?? -1;
  if (!stats.isFile() || stats.uid !== uid || (stats.mode & 0o077) !== 0) {
    const problem = !stats.isFile()
      ? 'it is not a regular file'
      : stats.uid !== uid
        ? `it is owned by ${describeUid(stats.uid)}`
        : `its mode is ${formatMode(stats.mode)}`;
    throw new RSessionProxyError(
      'ENOTPRIVATE',
      `Refusing the token file ${path}: ${problem}; it must be yours with mode 0600.`,
      {
        path,
        hint: `Run \`chmod 600 ${path}\`, or use a file of your own.`,
      },
    );
  }
  return validateToken((await readFile(path, 'utf8')).trim(), path);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

// What the given value is compared with, kept for the token in use: every request is checked,
// and hashing the same token (or computing the same HMAC) for each one is CPU for nothing.
let expectedDigest: { token: string; digest: Buffer } | undefined;
let cookieValue: { token: string; value: string } | undefined;

// Compares in constant time whatever the lengths: both sides are hashed to 32 bytes first.
export function tokensEqual(given: string, expected: string): boolean {
  if (expectedDigest?.token !== expected)
    expectedDigest = { token: expected, digest: digest(expected) };
  return timingSafeEqual(digest(given), expectedDigest.digest);
}

// The cookie value proves knowledge of the token without being the token itself.
export function getCookieValue(token: string): string {
  if (cookieValue?.token !== token) {
    const value = createHmac('sha256', token).update('rsession-proxy cookie').digest('base64url');
    cookieValue = { token, value };
  }
  return cookieValue.value;
}

// The credential a request carries: `Authorization: token <t>` (or Bearer), or the cookie.
export function hasValidCredential(
  req: IncomingMessage,
  token: string,
  cookieName: string,
): boolean {
  const authorization = req.headers.authorization;
  if (authorization) {
    const match = /^(?:token|bearer)\s+(\S+)$/i.exec(authorization.trim());
    if (match?.[1] !== undefined && tokensEqual(match[1], token)) return true;
  }
  const cookie = getCookie(req.headers.cookie, cookieName);
  return cookie !== undefined && tokensEqual(cookie, getCookieValue(token));
}

export function getCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}
