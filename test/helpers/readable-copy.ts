import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

// The isolation tests run the project's own code (the CLI, the fixtures, the double) and Node.js
// itself as throw-away users. Those users are strangers to the clone: when it lies below a
// directory only root can enter (CI's checkout, a clone in /root) or Node.js does (a version
// installed in root's cache), they could run nothing of it. In that case this module makes a
// copy they can read, once per test process, removed when the process exits, and paths into the
// clone or Node.js's directory are rewritten to point into it.

const PROJECT = resolve(import.meta.dirname, '..', '..', '..');
const NODE_DIR = dirname(process.execPath);

// Whether a user who is neither the owner nor in the group reaches `path` (the 'other' bits of
// the path and every directory above it; `exec` for a program, read for a file).
function othersReach(path: string, exec = false): boolean {
  const want = exec ? 0o005 : 0o004;
  if ((statSync(path).mode & want) !== want) return false;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === dirname(dir)) return true;
  }
}

// The packages a process of the project's needs: the runtime dependencies, and `ws`, which the
// fixtures import; with everything they depend on.
function packagesToCopy(): string[] {
  const manifest = JSON.parse(readFileSync(join(PROJECT, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const wanted = [...Object.keys(manifest.dependencies ?? {}), 'ws'];
  const found = new Set<string>();
  while (wanted.length > 0) {
    const name = wanted.pop() as string;
    if (found.has(name) || !existsSync(join(PROJECT, 'node_modules', name))) continue;
    found.add(name);
    const own = JSON.parse(
      readFileSync(join(PROJECT, 'node_modules', name, 'package.json'), 'utf8'),
    ) as { dependencies?: Record<string, string> };
    wanted.push(...Object.keys(own.dependencies ?? {}));
  }
  return [...found];
}

interface Copy {
  project?: string;
  nodeDir?: string;
}

let copy: Copy | undefined;

function makeCopy(): Copy {
  const made: Copy = {};
  const projectReachable = othersReach(join(PROJECT, 'package.json'));
  const nodeReachable = othersReach(process.execPath, true);
  if (projectReachable && nodeReachable) return made;
  // Not below /tmp when another place will do: some tests give a process a /tmp of its own.
  const base = ['/var/tmp', tmpdir(), '/tmp'].find((dir) => othersReach(dir, true)) ?? '/tmp';
  const root = mkdtempSync(join(base, 'rsp-readable-'));
  chmodSync(root, 0o755);
  process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  if (!projectReachable) {
    made.project = join(root, 'project');
    for (const entry of ['package.json', 'dist', 'test'])
      cpSync(join(PROJECT, entry), join(made.project, entry), { recursive: true });
    for (const name of packagesToCopy())
      cpSync(join(PROJECT, 'node_modules', name), join(made.project, 'node_modules', name), {
        recursive: true,
      });
  }
  if (!nodeReachable) {
    made.nodeDir = join(root, 'node', 'bin');
    mkdirSync(made.nodeDir, { recursive: true });
    cpSync(process.execPath, join(made.nodeDir, basename(process.execPath)));
  }
  return made;
}

// `value` (a path, an argument, a script, an environment value) with every mention of the clone
// or of Node.js's directory pointing into the readable copy; unchanged when none is needed.
export function readableByOthers(value: string): string {
  copy ??= makeCopy();
  let mapped = value;
  if (copy.project) mapped = mapped.replaceAll(`${PROJECT}/`, `${copy.project}/`);
  if (copy.nodeDir) mapped = mapped.replaceAll(NODE_DIR, copy.nodeDir);
  return mapped;
}

// The working directory for a process of another user: the current one, or its place in the
// copy; `/` when that user could not enter it (a child spawned there would fail with EACCES).
export function readableCwd(): string {
  const mapped = readableByOthers(`${process.cwd()}/`).replace(/(.)\/$/, '$1');
  return othersReach(mapped, true) ? mapped : '/';
}
