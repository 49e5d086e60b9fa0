import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

// A fresh temporary directory, removed when the test file finishes. It is created by mkdtemp
// (mode 0700), so it is a private parent for whatever the test makes inside it.
export function makeTempDir(prefix = 'rsp-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
