import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

// The user this process runs as; rserver needs the name (`--server-user`, `USER`).
export function getCurrentUser(): { uid: number; name: string } {
  const info = userInfo();
  return { uid: info.uid, name: info.username };
}

// Names a uid for error messages ("owned by mallory (uid 1001)"); /etc/passwd is enough for
// a message, and a uid without a name is shown as a number.
export function getUserName(uid: number): string | undefined {
  let passwd: string;
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of passwd.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && id === String(uid)) return name;
  }
  return undefined;
}

// "mallory (uid 1001)" or "uid 1001".
export function describeUid(uid: number): string {
  const name = getUserName(uid);
  return name === undefined ? `uid ${uid}` : `${name} (uid ${uid})`;
}
