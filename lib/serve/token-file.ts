import { lstat, readFile } from 'node:fs/promises';
import { RSessionProxyError } from '../errors.js';
import { formatMode } from '../private-dir.js';
import { describeUid } from '../users.js';
import { validateToken } from './token.js';

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
