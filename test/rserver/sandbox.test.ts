// The sandbox that ends rserver's processes with the supervisor: the command lines it builds,
// how it reads rserver's exit back, what it detects on this host, and the namespace's first
// process run for real.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { launchRServer, runDoctor } from '../../lib/index.js';
import {
  INIT_SCRIPT,
  NAMESPACE_FLAGS,
  buildSandboxedCommand,
  decodeSandboxExit,
  type Sandbox,
} from '../../lib/rserver/sandbox.js';
import { detectSandbox } from '../../lib/rserver/sandbox-detect.js';
import { readInstanceProcesses } from '../helpers/leftovers.js';
import { makeLaunchEnv } from '../helpers/launch-env.js';
import { makePathWithout } from '../helpers/sandbox-env.js';

const { root, options } = makeLaunchEnv();
const noUnshare = makePathWithout('unshare', join(root, 'no-unshare'));
const here = await detectSandbox(process.env);
// CI runs where user namespaces work: there the namespace tests must run, not skip.
const skipNamespace =
  here.kind !== 'pid-namespace' && !process.env.CI
    ? `no PID namespace on this host: ${here.description}`
    : false;

const namespace: Sandbox = {
  kind: 'pid-namespace',
  description: '',
  setpriv: '/usr/bin/setpriv',
  unshare: '/usr/bin/unshare',
};
const watchdog: Sandbox = { ...namespace, kind: 'watchdog' };
const env = { PATH: '/usr/bin', RSESSION_PROXY_MARKER: '/run/x/default' };
const marked = { env, marker: 'RSESSION_PROXY_MARKER', grace: 2000 };

describe('buildSandboxedCommand', () => {
  test('the namespace: setpriv (SIGKILL on the supervisor’s death), unshare, the init script, then rserver', () => {
    const command = buildSandboxedCommand(namespace, ['/opt/rserver', '--a=1'], marked);
    assert.deepEqual(
      [command.file, ...command.args],
      [
        '/usr/bin/setpriv',
        '--pdeathsig',
        'KILL',
        '--',
        '/usr/bin/unshare',
        '--user',
        '--map-current-user',
        '--pid',
        '--fork',
        '--kill-child',
        '--mount-proc',
        '--propagation',
        'slave',
        '--',
        '/bin/sh',
        '-c',
        INIT_SCRIPT,
        'rsession-proxy-init',
        '20',
        'RSESSION_PROXY_MARKER=/run/x/default',
        '/opt/rserver',
        '--a=1',
      ],
    );
    assert.deepEqual(command.env, { PATH: '/usr/bin' }, 'the wrappers carry no marker');
    assert.deepEqual(env.RSESSION_PROXY_MARKER, '/run/x/default', 'the caller’s env is left alone');
  });

  test('the watchdog: setpriv (SIGTERM on the supervisor’s death) when there is one, else rserver alone', () => {
    const command = buildSandboxedCommand(watchdog, ['/opt/rserver', '--a=1'], marked);
    assert.deepEqual(
      [command.file, ...command.args],
      ['/usr/bin/setpriv', '--pdeathsig', 'TERM', '--', '/opt/rserver', '--a=1'],
    );
    assert.equal(command.env, env, 'rserver carries the marker');
    const bare = buildSandboxedCommand(
      { ...watchdog, setpriv: undefined },
      ['/opt/rserver'],
      marked,
    );
    assert.deepEqual([bare.file, ...bare.args], ['/opt/rserver']);
  });

  test('the flags are util-linux’s, each known to unshare 2.38', () => {
    const help = spawnSync('unshare', ['--help'], { encoding: 'utf8' });
    for (const flag of NAMESPACE_FLAGS.filter((f) => f.startsWith('--'))) {
      assert.ok(help.stdout.includes(flag), `${flag} in unshare --help`);
    }
  });
});

describe('decodeSandboxExit', () => {
  const cases: [Sandbox['kind'], number | null, string | null, number | null, string | null][] = [
    ['pid-namespace', 143, null, null, 'SIGTERM'],
    ['pid-namespace', 137, null, null, 'SIGKILL'],
    ['pid-namespace', 1, null, 1, null],
    ['pid-namespace', 0, null, 0, null],
    ['pid-namespace', 128, null, 128, null],
    ['pid-namespace', 255, null, 255, null],
    ['pid-namespace', null, 'SIGKILL', null, 'SIGKILL'],
    ['watchdog', 143, null, 143, null],
    ['watchdog', null, 'SIGTERM', null, 'SIGTERM'],
  ];
  for (const [kind, code, signal, wantCode, wantSignal] of cases) {
    test(`${kind}: code ${code}, signal ${signal} → code ${wantCode}, signal ${wantSignal}`, () => {
      assert.deepEqual(decodeSandboxExit(kind, code, signal), {
        code: wantCode,
        signal: wantSignal,
      });
    });
  }
});

describe('on this host', () => {
  test('without unshare on PATH the watchdog is in force, and doctor says why', async () => {
    const sandbox = await detectSandbox({ PATH: noUnshare });
    assert.equal(sandbox.kind, 'watchdog');
    assert.match(sandbox.description, /watchdog .*no unshare on PATH/);
    const checks = await runDoctor({ ...options, env: { ...options.env, PATH: noUnshare } });
    const check = checks.find((c) => c.name === 'processes end with the supervisor');
    assert.ok(check);
    assert.equal(check.ok, false);
    assert.equal(check.blocking, false);
    assert.match(check.detail, /no unshare on PATH/);
  });

  test(
    'with unshare the PID namespace is in force, and doctor says so',
    { skip: skipNamespace },
    async () => {
      assert.equal(here.kind, 'pid-namespace', here.description);
      const checks = await runDoctor(options);
      const check = checks.find((c) => c.name === 'processes end with the supervisor');
      assert.ok(check);
      assert.equal(check.ok, true);
      assert.match(check.detail, /PID namespace of its own/);
    },
  );

  test(
    'the init script: rserver’s exit status passes through unshare; what rserver left gets SIGTERM first',
    { skip: skipNamespace },
    () => {
      const record = join(root, 'orphan-record');
      // "rserver": leaves a child that records SIGTERM (re-parented to the init script), exits 3.
      const rserver = `sh -c 'trap "echo TERM >${record}; exit 0" TERM; while :; do sleep 0.05; done' &
      sleep 0.2; exit 3`;
      // Started as the launcher starts rserver: setpriv, unshare, the init script.
      const command = buildSandboxedCommand(
        here,
        ['/bin/sh', '-c', `[ "$RSESSION_PROXY_MARKER" = /m ] || exit 9; ${rserver}`],
        {
          env: { PATH: process.env.PATH, RSESSION_PROXY_MARKER: '/m' },
          marker: 'RSESSION_PROXY_MARKER',
          grace: 2000,
        },
      );
      const init = spawnSync(command.file, command.args, {
        env: command.env,
        encoding: 'utf8',
        timeout: 10_000,
      });
      assert.equal(init.status, 3, init.stderr);
      assert.equal(readFileSync(record, 'utf8'), 'TERM\n');
    },
  );

  test(
    'the pid the library reports is rserver’s own, not a wrapper’s',
    { skip: skipNamespace },
    async () => {
      const rserver = await launchRServer({ ...options, instance: 'whose-pid' });
      try {
        const cmdline = readFileSync(`/proc/${rserver.pid}/cmdline`, 'latin1').split('\0');
        assert.ok(
          cmdline.some((arg) => arg.endsWith('/dist/test/fixtures/rserver.js')),
          cmdline.join(' '),
        );
        const nspid = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${rserver.pid}/status`, 'utf8'));
        assert.deepEqual(nspid?.[1]?.split(/\s+/).slice(1), ['2'], 'pid 2 in its own namespace');
        assert.deepEqual(
          readInstanceProcesses(rserver.instance.dir).map((p) => p.pid),
          [rserver.pid],
          'only rserver carries the marker',
        );
      } finally {
        await rserver.stop();
      }
      assert.deepEqual(readInstanceProcesses(rserver.instance.dir), []);
    },
  );
});
