import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The sign-in check rserver runs (`--auth-pam-helper-path`), as `<helper> <user> rstudio <1|0>
 * [<client address>]`, the password on its standard input without a newline: exit 0 only for
 * this account (`id -un`) and the exact bytes of the password file beside it, compared as hex
 * dumps so that no newline, NUL or trailing byte is lost or forgiven. It reads at most 4 KiB.
 * The password is never in an argument or a variable of any other process.
 */
export const PAM_HELPER_SCRIPT = `#!/bin/sh
PATH=/usr/bin:/bin
[ "$#" -ge 1 ] && [ "$1" = "$(id -un)" ] || exit 1
dir=$(dirname -- "$0") || exit 1
expected=$(od -An -v -tx1 < "$dir/password" | tr -d ' \\n') || exit 1
given=$(head -c 4096 | od -An -v -tx1 | tr -d ' \\n')
[ -n "$expected" ] && [ "$given" = "$expected" ]
`;

/** The files of one launch's password, in the instance's private directory. */
export interface PasswordFiles {
  helper: string;
  file: string;
}

// Where the helper and the password live: beside each other, as the helper expects.
export function getPasswordFiles(dir: string): PasswordFiles {
  return { helper: join(dir, 'sign-in-helper'), file: join(dir, 'password') };
}

// A new password for one launch: 256 random bits, in characters a form field carries as they are.
export function generatePassword(): string {
  return randomBytes(32).toString('base64url');
}

// Writes the helper (0700) and the password (0600) afresh; rserver runs the helper as the user.
export async function writePasswordFiles(files: PasswordFiles, password: string): Promise<void> {
  await removePasswordFiles(files);
  await writeFile(files.file, password, { mode: 0o600, flag: 'wx' });
  await writeFile(files.helper, PAM_HELPER_SCRIPT, { mode: 0o700, flag: 'wx' });
}

// The password is for one launch: it goes with it.
export async function removePasswordFiles(files: PasswordFiles): Promise<void> {
  await rm(files.file, { force: true });
  await rm(files.helper, { force: true });
}
