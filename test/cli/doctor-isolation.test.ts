// `doctor` says which isolation a start would get, as text and as JSON: the socket of a new
// rserver; for an rserver without --www-socket a network namespace (R online through slirp4netns,
// or said to have no network when slirp4netns is missing), the password alone when asked for, and
// a level it cannot have as something that blocks a start.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, test } from 'node:test';
import { CLI, CliProcess, makeCliEnv, runCli, type CliResult } from '../helpers/cli.js';
import { waitForExit } from '../helpers/processes.js';
import { FAKE_R, RSERVER_DOUBLE, makeVariantWriter } from '../helpers/rserver-double.js';
import { isRoot, notRootReason } from '../helpers/users.js';
import { canOpenTun } from '../helpers/slirp.js';

const { root, env } = makeCliEnv();
const variant = makeVariantWriter(root);
const OLD = { RSERVER_DOUBLE_RELEASE: '2024.04.2+764' };
/** Where the launcher looks for slirp4netns besides PATH (lib/rserver/namespace-detect.ts). */
const SYSTEM_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];
const NO_SLIRP =
  'R will not reach the internet: install slirp4netns, or use --isolation=password (no slirp4netns found).';

interface DoctorCheck {
  name: string;
  ok: boolean;
  blocking: boolean;
  detail: string;
  hint?: string;
}

// Every slirp4netns the launcher could find here.
function findSlirps(): string[] {
  const dirs = [...(env.PATH ?? '').split(delimiter), ...SYSTEM_DIRS].filter((d) => d !== '');
  return [...new Set(dirs.map((dir) => join(dir, 'slirp4netns')))].filter((path) => {
    try {
      return statSync(path).isFile();
    } catch {
      return false;
    }
  });
}

// Whether slirp4netns can give a namespace the network here: installed, the tun device usable.
function canUseSlirp(): boolean {
  return findSlirps().length > 0 && canOpenTun();
}

// Runs doctor in a mount namespace of its own where every slirp4netns is /dev/null: as on a host
// without it (PATH alone cannot hide it: the launcher also looks in the system directories).
async function runWithoutSlirp(args: string[], extra: NodeJS.ProcessEnv): Promise<CliResult> {
  const script = [
    'while [ "$1" != -- ]; do mount --bind /dev/null "$1" || exit 97; shift; done',
    'shift',
    'exec "$@"',
  ].join('\n');
  const doctor = new CliProcess([], { ...env, ...extra }, [
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '--',
      '/bin/sh',
      '-c',
      script,
      'sh',
      ...findSlirps(),
      '--',
      process.execPath,
      CLI,
      ...args,
    ],
  ]);
  const { code, signal } = await waitForExit(doctor.child, 30_000);
  await doctor.exited;
  return { code, signal, stdout: doctor.stdout, stderr: doctor.stderr };
}

// doctor's text and its --json, for the same rserver and environment.
async function doctor(
  rserver: string,
  extra: NodeJS.ProcessEnv = {},
  run = (args: string[], more: NodeJS.ProcessEnv) => runCli(args, { ...env, ...more }),
): Promise<{ text: CliResult; json: CliResult; check: DoctorCheck; line: string }> {
  const args = ['doctor', `--rserver=${rserver}`, `--r=${FAKE_R}`];
  const text = await run(args, extra);
  const json = await run([...args, '--json'], extra);
  const { checks } = JSON.parse(json.stdout) as { checks: DoctorCheck[] };
  const found = checks.filter((check) => check.name.startsWith('isolation ('));
  assert.equal(found.length, 1, json.stdout);
  const check = found[0] as DoctorCheck;
  const line = text.stdout.split('\n').find((l) => l.includes(` ${check.name}: `)) ?? '';
  assert.notEqual(line, '', text.stdout);
  return { text, json, check, line };
}

// The hint doctor prints under a check's line.
function hintAfter(stdout: string, line: string): string | undefined {
  const lines = stdout.split('\n');
  const next = lines[lines.indexOf(line) + 1];
  return next?.startsWith('    ') ? next.slice(4) : undefined;
}

describe('rsession-proxy doctor: the isolation a start would get', () => {
  test('an rserver with --www-socket: the socket', async () => {
    const { text, check, line } = await doctor(RSERVER_DOUBLE);
    assert.equal(text.code, 0, text.stdout);
    assert.equal(check.name, 'isolation (auto)');
    assert.equal(check.ok, true);
    assert.match(line, /^✓ isolation \(auto\): socket: rserver listens on a Unix socket/);
    assert.equal(check.detail, line.slice('✓ isolation (auto): '.length));
  });

  test(
    'an rserver without --www-socket: a network namespace, R online through slirp4netns',
    { skip: canUseSlirp() ? false : 'slirp4netns cannot be used here' },
    async () => {
      const { text, json, check, line } = await doctor(await variant(OLD));
      assert.equal(text.code, 0, text.stdout);
      assert.equal((JSON.parse(json.stdout) as { ok: boolean }).ok, true);
      assert.deepEqual({ ok: check.ok, blocking: check.blocking }, { ok: true, blocking: false });
      assert.match(
        check.detail,
        /^namespace: rserver listens on 127\.0\.0\.1 in a network namespace of its own.*; R reaches the network through slirp4netns$/,
      );
      assert.equal(line, `✓ isolation (auto): ${check.detail}`);
      assert.equal(hintAfter(text.stdout, line), undefined);
    },
  );

  test(
    'without slirp4netns: the namespace, and R will not reach the internet',
    { skip: isRoot ? false : notRootReason },
    async () => {
      const { text, json, check, line } = await doctor(await variant(OLD), {}, runWithoutSlirp);
      assert.equal(text.code, 0, `${text.stdout}${text.stderr}`);
      assert.match(text.stdout, /\nNothing blocks a start\.\n$/);
      assert.equal((JSON.parse(json.stdout) as { ok: boolean }).ok, true);
      assert.deepEqual(
        { ok: check.ok, blocking: check.blocking, hint: check.hint },
        { ok: false, blocking: false, hint: NO_SLIRP },
      );
      assert.match(check.detail, /^namespace: .*; R has no network$/);
      assert.equal(line, `! isolation (auto): ${check.detail}`);
      assert.equal(hintAfter(text.stdout, line), NO_SLIRP);
    },
  );

  test('RSESSION_PROXY_ISOLATION=password: the password alone, said as a warning', async () => {
    const { text, check, line } = await doctor(await variant(OLD), {
      RSESSION_PROXY_ISOLATION: 'password',
    });
    assert.equal(text.code, 0, text.stdout);
    assert.deepEqual({ ok: check.ok, blocking: check.blocking }, { ok: false, blocking: false });
    assert.match(line, /^! isolation \(password\): password: rserver listens on a port of 127/);
    assert.match(
      hintAfter(text.stdout, line) ?? '',
      /^rserver listens on a port of 127\.0\.0\.1 that every user of this host can connect to; only a per-launch password/,
    );
  });

  test('RSESSION_PROXY_ISOLATION=socket of an rserver without --www-socket: it blocks a start', async () => {
    const { text, json, check, line } = await doctor(await variant(OLD), {
      RSESSION_PROXY_ISOLATION: 'socket',
    });
    assert.equal(text.code, 1, text.stdout);
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.stdout) as { ok: boolean }).ok, false);
    assert.deepEqual({ ok: check.ok, blocking: check.blocking }, { ok: false, blocking: true });
    assert.match(
      line,
      /^✗ isolation \(socket\): --isolation=socket needs an rserver that listens on a Unix socket .*RStudio Server 2024\.04\.2 has no --www-socket\.$/,
    );
    assert.match(hintAfter(text.stdout, line) ?? '', /Install RStudio Server 2024\.12\.0 or newer/);
    assert.match(text.stdout, /\nSomething above blocks a start\.\n$/);
  });

  test('--isolation asks for a level as serve does, over RSESSION_PROXY_ISOLATION', async () => {
    const rserver = await variant(OLD);
    const args = ['doctor', `--rserver=${rserver}`, `--r=${FAKE_R}`, '--isolation=password'];
    const flagged = await runCli(args, { ...env, RSESSION_PROXY_ISOLATION: 'socket' });
    assert.equal(flagged.code, 0, flagged.stdout);
    assert.match(flagged.stdout, /^! isolation \(password\): password: rserver listens on a port/m);
    const bad = await runCli([...args.slice(0, -1), '--isolation=bogus'], env);
    assert.equal(bad.code, 2, bad.stdout);
    assert.match(bad.stderr, /isolation/);
    assert.match(bad.stderr, /auto.*socket.*namespace.*password/);
  });
});
