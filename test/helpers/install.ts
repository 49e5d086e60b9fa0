// The install routes of README.md#installing, run as a user runs them: the README's own `sh`
// blocks, from clean temporary directories, against a snapshot of this working tree (a git
// repository of its own, so that uncommitted changes are what gets installed).
import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAKE_R, RSERVER_DOUBLE } from './rserver-double.js';
import { skipIfRanOnce } from './once.js';
import { makeTempDir } from './temp.js';

/** The repository this test runs from. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const PACKAGE_VERSION = (
  JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

// Why the routes cannot be tried here, or undefined when they can.
export function getInstallSkip(): string | false {
  // npm does the installing, whichever Node.js runs the suite: once per CI run is enough.
  if (skipIfRanOnce) return skipIfRanOnce;
  if (!existsSync(join(REPO_ROOT, '.git'))) {
    return 'not a git checkout: the install routes are tried from a snapshot of one';
  }
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'git is not installed';
  }
  return false;
}

// A git repository holding this working tree as it is (tracked and untracked files that git
// does not ignore), committed; returns its directory.
export function makeSnapshotRepo(root: string): string {
  const repo = join(root, 'snapshot');
  const listed = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    },
  );
  for (const file of new Set(listed.split('\0').filter(Boolean))) {
    const from = join(REPO_ROOT, file);
    if (!existsSync(from)) continue;
    mkdirSync(dirname(join(repo, file)), { recursive: true });
    cpSync(from, join(repo, file));
  }
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: repo, stdio: 'ignore', env: cleanEnv() });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=test', '-c', 'user.email=test@invalid', 'commit', '-q', '-m', 'snapshot');
  return repo;
}

// The environment a user's shell would have: without what `npm test` itself exports (npm_*,
// INIT_CWD), which would point the commands at this repository, and with npm kept quiet and
// offline-first (CI's cache holds every package already).
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === 'INIT_CWD') continue;
    if (key.startsWith('RSESSION_PROXY_') || key.startsWith('RSERVER_')) continue;
    env[key] = value;
  }
  return {
    ...env,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    npm_config_prefer_offline: 'true',
    ...extra,
  };
}

// An npm user configuration whose global prefix is `dir`: `npm install -g` then installs there
// (a prefix on the command line or in npm_config_prefix would also move local installs).
export function useGlobalPrefix(root: string, dir: string): NodeJS.ProcessEnv {
  const file = join(root, `npmrc-${relative(root, dir).replaceAll('/', '-')}`);
  writeFileSync(file, `prefix=${dir}\n`);
  return { NPM_CONFIG_USERCONFIG: file, PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}` };
}

/** The `sh` blocks of README.md's Installing section, in order. */
export function readInstallBlocks(): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Installing');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
}

export interface BlockRun {
  code: number | null;
  output: string;
}

// Runs a block as a user pastes it into a shell (stopping at the first failing line), in `cwd`;
// killed after `timeout` ms.
export function runBlock(
  block: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeout: number,
): Promise<BlockRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('sh', ['-e', '-c', block], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not done within ${timeout} ms:\n${block}\n${output}`));
    }, timeout);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output });
    });
  });
}

/** What `doctor` needs to find a usable rserver (the test double) and keep to temp directories. */
export function doctorEnv(root: string): NodeJS.ProcessEnv {
  const data = makeTempDir('rsp-install-data-');
  return {
    RSESSION_PROXY_RSERVER: RSERVER_DOUBLE,
    RSESSION_PROXY_R: FAKE_R,
    RSESSION_PROXY_RUNTIME_DIR: join(root, 'rt'),
    XDG_DATA_HOME: data,
  };
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

// What an installed package points at but does not have: each source map's sources, and each
// relative link of its Markdown (README.md, docs/*.md).
export function findDanglingReferences(packageDir: string): string[] {
  const dangling: string[] = [];
  const files = listFiles(packageDir).filter((path) => !path.includes('/node_modules/'));
  for (const map of files.filter((path) => path.endsWith('.js.map'))) {
    const { sources } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] };
    for (const source of sources) {
      const target = resolve(dirname(map), source);
      if (!existsSync(target)) dangling.push(`${relative(packageDir, map)} → ${source}`);
    }
  }
  for (const doc of files.filter((path) => path.endsWith('.md'))) {
    const text = readFileSync(doc, 'utf8');
    for (const [, link] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (link === undefined || /^(https?:|mailto:|#)/.test(link)) continue;
      const target = resolve(dirname(doc), link.replace(/#.*$/, ''));
      if (!existsSync(target)) dangling.push(`${relative(packageDir, doc)} → ${link}`);
    }
  }
  return dangling;
}
