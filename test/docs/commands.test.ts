// Every command example in `--help` and in the docs runs as printed, and prints what the docs
// show. Examples are read from the text: the lines under "Example(s):" in each --help, and the
// `$ command` lines of the docs' console blocks with the output lines below them. Each runs in
// a shell on a terminal (util-linux `script`, so the output is the terminal's: `✓ …` steps), with
// `rsession-proxy` on PATH, HOME and the runtime directory in a temp directory, and the rserver
// test double as RSESSION_PROXY_RSERVER. The one substitution: port 8787 on this host becomes a
// free port. A doc's output lines must appear in order, each matching with its variable parts
// (paths up to their last part, numbers, user@host, `…`) left open.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  EXEC_HELP,
  SERVE_HELP,
  DOCTOR_HELP,
  MAIN_HELP,
  STATUS_HELP,
  STOP_HELP,
  RELAY_HELP,
} from '../../bin/cli/help.js';
import { CLI, CliProcess } from '../helpers/cli.js';
import { cookieHeader, cookieJar, httpRequest } from '../helpers/http-client.js';
import { findSocketsAndLocks } from '../helpers/leftovers.js';
import { FAKE_R, RSERVER_DOUBLE } from '../helpers/rserver-double.js';
import { makeTempDir } from '../helpers/temp.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const readDoc = (name: string) => readFileSync(join(REPO, name), 'utf8');

interface Example {
  command: string;
  /** The output the doc shows under it. */
  expected: string[];
}

// The examples of a --help text: the lines under "Example:" or "Examples:".
export function extractHelpExamples(help: string): Example[] {
  const block = /\nExamples?:\n((?: {2}.+\n)+)/.exec(help)?.[1] ?? '';
  return block
    .split('\n')
    .filter(Boolean)
    .map((line) => ({ command: line.trim(), expected: [] }));
}

// A document's fenced code blocks of one language, indented ones (in a list item) too, dedented.
export function extractCodeBlocks(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp(`^( *)\`\`\`${lang}\n([\\s\\S]*?)^\\1\`\`\``, 'gm'))].map(
    ([, indent = '', body = '']) =>
      body
        .split('\n')
        .map((line) => line.slice(indent.length))
        .join('\n'),
  );
}

// The `$ command` lines of a document's console blocks, each with the output lines that follow.
export function extractConsoleExamples(text: string): Example[] {
  const examples: Example[] = [];
  for (const body of extractCodeBlocks(text, 'console')) {
    // Output belongs to a command of the same block (a block of another host's prompt, such as
    // `login1$`, has none of ours).
    let current: Example | undefined;
    for (const line of body.split('\n')) {
      if (line.startsWith('$ ')) {
        current = { command: line.slice(2), expected: [] };
        examples.push(current);
      } else if (line.trim() !== '') current?.expected.push(line);
    }
  }
  return examples;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// A doc's output line as a pattern: paths match up to their last part, numbers any number,
// user@host any such, `…` anything; a version line (`✓ rserver <version>: <path>`) any version.
export function toLinePattern(line: string): RegExp {
  let source = '';
  let rest = line.trimEnd();
  const version = /^✓ rserver [^:]+: /.exec(rest);
  if (version) {
    source = '✓ rserver .+: ';
    rest = rest.slice(version[0].length);
  }
  for (const part of rest.split(/(https?:\/\/\S+|\/[^\s'"`()]+|[\w.-]+@[\w.-]+|…|\d+)/)) {
    if (part === '') continue;
    if (/^https?:\/\//.test(part)) {
      source += part
        .split(/(…|\d+)/)
        .map((p) => (p === '…' ? '.*' : /^\d+$/.test(p) ? '\\d+' : escape(p)))
        .join('');
    } else if (part.startsWith('/')) {
      const trailing = /[.,;:]*$/.exec(part)?.[0] ?? '';
      const path = part.slice(0, part.length - trailing.length);
      source += `/\\S*${escape(path.split('/').at(-1) ?? '')}${escape(trailing)}`;
    } else if (/^[\w.-]+@[\w.-]+$/.test(part)) source += '\\S+@\\S+';
    else if (part === '…') source += '.*';
    else if (/^\d+$/.test(part)) source += '\\d+';
    else source += escape(part);
  }
  return new RegExp(`^${source}$`);
}

// The first expected line that does not appear, in order, among the actual ones.
function findMissing(actual: readonly string[], expected: readonly string[]): string | undefined {
  let at = 0;
  for (const line of expected) {
    const pattern = toLinePattern(line);
    while (at < actual.length && !pattern.test(actual[at] ?? '')) at++;
    if (at === actual.length) return line;
    at++;
  }
  return undefined;
}

function outputLines(cli: CliProcess): string[] {
  return `${cli.stdout}${cli.stderr}`.replaceAll('\r', '').split('\n');
}

// Children of a process, from /proc.
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

// The rsession-proxy process `script` runs (through sh and the PATH shim), to signal it.
function findCommandPid(root: number): number | undefined {
  for (const pid of childPids(root)) {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.includes(CLI)) return pid;
    const below = findCommandPid(pid);
    if (below !== undefined) return below;
  }
  return undefined;
}

function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface DocEnv {
  root: string;
  home: string;
  runtimeDir: string;
  env: NodeJS.ProcessEnv;
}

// A user's shell: rsession-proxy on PATH, a home and a runtime directory of its own (named as on
// a login node, so that the docs' paths end the same way), the double as rserver.
function makeDocEnv(): DocEnv {
  const root = makeTempDir('rsp-docs-');
  const home = join(root, 'home');
  const bin = join(root, 'bin');
  mkdirSync(home, { mode: 0o700 });
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'rsession-proxy'),
    `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`,
    { mode: 0o755 },
  );
  // XDG_RUNTIME_DIR as pam_systemd makes it (private), and TMPDIR private too: the runtime
  // directory is then <XDG_RUNTIME_DIR>/rsession-proxy, chosen as on a login node.
  const xdg = join(root, 'run');
  const tmp = join(root, 'tmp');
  mkdirSync(xdg, { mode: 0o700 });
  mkdirSync(tmp, { mode: 0o700 });
  const runtimeDir = join(xdg, 'rsession-proxy');
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(RSESSION_PROXY_|RSERVER_|npm_)/.test(key)) env[key] = value;
  }
  return {
    root,
    home,
    runtimeDir,
    env: {
      ...env,
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      HOME: home,
      SHELL: '/bin/sh',
      XDG_DATA_HOME: join(home, '.local', 'share'),
      XDG_RUNTIME_DIR: xdg,
      TMPDIR: tmp,
      RSESSION_PROXY_RSERVER: RSERVER_DOUBLE,
      RSESSION_PROXY_R: FAKE_R,
    },
  };
}

// The token file the serve examples read, made the way docs/cli.md says.
function makeTokenFile(docEnv: DocEnv): void {
  const make =
    /`(openssl rand -base64 32 > ~\/\.rstudio-token && chmod 600 ~\/\.rstudio-token)`/.exec(
      readDoc('docs/cli.md'),
    )?.[1];
  assert.ok(make, 'docs/cli.md says how to make the token file');
  execFileSync('sh', ['-ec', make], { env: docEnv.env });
}

// Opens the URL serve printed as the reader would, here or through the ssh tunnel (whose end is
// a connection to the printed socket with the tunnel's Host): the token buys a cookie, and the
// page behind it, rserver's sign-in, starts rserver.
async function openPrintedUrl(stdout: string): Promise<void> {
  const printed = /^ {2}(http:\/\/\S+\?token=\S+)\r?$/m.exec(stdout)?.[1];
  if (printed === undefined) return;
  const url = new URL(printed);
  const socketPath = /ssh -N -L 8787:(\/\S+\.sock) /.exec(stdout)?.[1];
  const target =
    url.hostname === 'localhost' && socketPath !== undefined
      ? { socketPath }
      : { host: url.hostname, port: Number(url.port) };
  const host = url.host;
  const first = await httpRequest(target, {
    path: `${url.pathname}${url.search}`,
    headers: { host },
  });
  assert.equal(first.status, 302, printed);
  const page = await httpRequest(target, {
    path: first.headers.location ?? '/',
    headers: { host, cookie: cookieHeader(cookieJar(first.headers)) },
    timeoutMs: 30_000,
  });
  assert.equal(page.status, 302, `rserver's sign-in redirect: ${page.body.toString()}`);
  assert.match(page.headers.location ?? '', /auth-sign-in/);
}

const LONG_RUNNING = /^rsession-proxy (serve|exec)\b|&& rsession-proxy (serve|exec)\b/;
const READY = /rserver starts on the first request|serving RStudio on /;

// Runs a document's examples in order, the way a reader would in one terminal: a serve or exec
// keeps running until an example stops it (`rsession-proxy stop`, as it printed) or the next
// one starts; the others run to their end and exit 0.
async function runExamples(examples: readonly Example[], docEnv: DocEnv): Promise<void> {
  let running: { cli: CliProcess; example: Example } | undefined;
  const stopRunning = async () => {
    if (!running) return;
    const { cli, example } = running;
    running = undefined;
    if (cli.child.exitCode === null) {
      // serve says how to stop it; run that, as printed.
      const advice = /stop with Ctrl-C or `([^`]+)`/.exec(cli.stderr + cli.stdout)?.[1];
      if (advice !== undefined) {
        const stop = await run(advice);
        assert.equal(stop.code, 0, `${advice}: ${stop.out}`);
      } else {
        const pid = findCommandPid(cli.child.pid ?? 0);
        assert.ok(pid, `the process of ${example.command}`);
        process.kill(pid, 'SIGTERM');
      }
    }
    const exit = await cli.exited;
    // exec, told to stop by SIGTERM, exits 143 (docs/jupyter-server-proxy.md says why).
    assert.equal(
      exit.code,
      /rsession-proxy exec\b/.test(example.command) ? 143 : 0,
      `${example.command} stopped cleanly: ${outputLines(cli).join('\n')}`,
    );
  };
  const run = async (command: string) => {
    const cli = new CliProcess([], docEnv.env, ['script', ['-qefc', command, '/dev/null']]);
    const { code } = await cli.exited;
    return { code, out: outputLines(cli).join('\n') };
  };

  for (const example of examples) {
    let command = example.command;
    if (/127\.0\.0\.1:8787/.test(command)) {
      command = command.replace('127.0.0.1:8787', `127.0.0.1:${await getFreePort()}`);
    }
    if (LONG_RUNNING.test(command)) {
      await stopRunning();
      const cli = new CliProcess([], docEnv.env, ['script', ['-qefc', command, '/dev/null']]);
      running = { cli, example };
      const last = example.expected.at(-1);
      // A terminal ends its lines with \r\n.
      const ready =
        last === undefined ? READY : new RegExp(toLinePattern(last).source.replace(/\$$/, '\r?$'));
      await cli.waitFor(ready, 30_000);
      const missing = findMissing(outputLines(cli), example.expected);
      assert.equal(missing, undefined, `${command}:\n${outputLines(cli).join('\n')}`);
      await openPrintedUrl(cli.stdout);
      continue;
    }
    const cli = new CliProcess([], docEnv.env, ['script', ['-qefc', command, '/dev/null']]);
    const { code } = await cli.exited;
    const lines = outputLines(cli);
    assert.equal(code, 0, `${command}:\n${lines.join('\n')}`);
    const missing = findMissing(lines, example.expected);
    assert.equal(missing, undefined, `${command}:\n${lines.join('\n')}`);
  }
  await stopRunning();
  assert.deepEqual(findSocketsAndLocks(docEnv.runtimeDir), [], 'nothing left behind');
}

const scriptSkip = existsSync('/usr/bin/script') ? false : 'needs util-linux script';

describe('every command example runs as printed', { skip: scriptSkip }, () => {
  test('the extraction finds the examples it should', () => {
    assert.deepEqual(
      extractHelpExamples(SERVE_HELP).map((e) => e.command),
      [
        'rsession-proxy serve',
        'rsession-proxy serve --listen=127.0.0.1:8787 --token-file="$HOME/.rstudio-token"',
      ],
    );
    assert.ok(
      toLinePattern('✓ listening on /run/user/1000/x/proxy.sock (mode 0600)').test(
        '✓ listening on /tmp/rsp-1/rt/proxy.sock (mode 0600)',
      ),
    );
    assert.ok(
      !toLinePattern('  ssh -N -L 8787:/a/proxy.sock alice@login1').test(
        '  ssh -N -L 8787:/a/rserver.sock alice@login1',
      ),
      'the last part of a path must match',
    );
    const hpc = extractConsoleExamples(readDoc('docs/hpc.md')).map((e) => e.command);
    assert.deepEqual(hpc, [
      'rsession-proxy serve',
      'rsession-proxy status',
      'rsession-proxy stop --instance=default',
    ]);
  });

  test('--help', async () => {
    const docEnv = makeDocEnv();
    makeTokenFile(docEnv);
    const examples = [
      MAIN_HELP,
      EXEC_HELP,
      SERVE_HELP,
      STATUS_HELP,
      STOP_HELP,
      DOCTOR_HELP,
      RELAY_HELP,
    ].flatMap(extractHelpExamples);
    assert.equal(examples.length, 5);
    await runExamples(examples, docEnv);
    assert.equal(existsSync(join(docEnv.home, '.rsp', 'rstudio.sock')), false);
  });

  for (const doc of ['README.md', 'docs/cli.md', 'docs/hpc.md']) {
    test(doc, async () => {
      const docEnv = makeDocEnv();
      makeTokenFile(docEnv);
      const examples = extractConsoleExamples(readDoc(doc));
      assert.ok(examples.length > 0, `${doc} has console examples`);
      await runExamples(examples, docEnv);
    });
  }

  test("docs/hpc.md: the site admin's variables are read as set", () => {
    const block = extractCodeBlocks(readDoc('docs/hpc.md'), 'sh').find((b) =>
      b.startsWith('export RSESSION_PROXY_RSERVER='),
    );
    assert.ok(block);
    const { env } = makeDocEnv();
    delete env.RSESSION_PROXY_RSERVER;
    const out = execFileSync('sh', ['-c', `${block}\nrsession-proxy doctor --json || true`], {
      env,
      encoding: 'utf8',
    });
    const report = JSON.parse(out) as { checks: { name: string; detail: string }[] };
    // The variable names an rserver this machine does not have: doctor says so, naming it.
    assert.match(
      report.checks.find((c) => c.name === 'rserver found')?.detail ?? '',
      /RSESSION_PROXY_RSERVER names \/usr\/lib\/rstudio-server\/bin\/rserver/,
    );
  });
});
