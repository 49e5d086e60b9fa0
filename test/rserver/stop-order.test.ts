// A requested stop gives every rsession SIGTERM (on which the real one saves its session) and
// its grace period while rserver still runs — in a PID namespace rserver's end SIGKILLs all that
// is left in it — and only then stops rserver. The double's rserver and rsession record the
// SIGTERM they get (test/fixtures/record-sigterm.ts). rsession runs in a session of its own, as
// the real one does: a signal to rserver's process group does not reach it.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { launchRServer } from '../../lib/index.js';
import { detectSandbox } from '../../lib/rserver/sandbox-detect.js';
import { httpRequest } from '../helpers/http-client.js';
import { makeLaunchEnv } from '../helpers/launch-env.js';
import { readInstanceProcesses } from '../helpers/leftovers.js';
import { waitUntil } from '../helpers/processes.js';
import { RSESSION_DOUBLE, writeRserverVariant } from '../helpers/rserver-double.js';
import { makePathWithout } from '../helpers/sandbox-env.js';

const { root, options } = makeLaunchEnv();
const rserverDouble = await writeRserverVariant(root, { RSERVER_DOUBLE_RSESSION_SETSID: '1' });
const recorder = pathToFileURL(join(import.meta.dirname, '..', 'fixtures', 'record-sigterm.js'));
const here = await detectSandbox(process.env);
const sandboxes = [
  {
    name: 'PID namespace',
    path: process.env.PATH,
    skip:
      here.kind !== 'pid-namespace' && !process.env.CI
        ? `no PID namespace: ${here.description}`
        : false,
  },
  { name: 'watchdog', path: makePathWithout('unshare', join(root, 'no-unshare')), skip: false },
];

describe('a requested stop', () => {
  for (const sandbox of sandboxes) {
    test(
      `SIGTERMs rsession while rserver runs, then rserver (${sandbox.name})`,
      { skip: sandbox.skip },
      async () => {
        const log = join(root, `sigterm-${sandbox.name}.log`);
        // rserver builds rsession's environment anew, as the real one does: an --rsession-path
        // wrapper (the way a site passes variables to sessions) brings the recorder to rsession.
        const wrapper = join(root, `rsession-${sandbox.name.replaceAll(' ', '-')}`);
        writeFileSync(
          wrapper,
          `#!/bin/sh\nexport NODE_OPTIONS='--import=${recorder.href}' SIGTERM_LOG='${log}'\nexec '${RSESSION_DOUBLE}' "$@"\n`,
          { mode: 0o755 },
        );
        const said: string[] = [];
        const rserver = await launchRServer({
          ...options,
          rserver: rserverDouble,
          instance: `order-${sandbox.name.replaceAll(' ', '-')}`,
          extraArgs: [`--rsession-path=${wrapper}`],
          env: {
            ...options.env,
            PATH: sandbox.path,
            NODE_OPTIONS: `--import=${recorder.href}`,
            SIGTERM_LOG: log,
          },
          logger: ({ message }) => said.push(message),
        });
        assert.ok(
          said.some((m) => m.startsWith('starting rserver ') && m.includes(sandbox.name)),
          said.join('\n'),
        );
        const dir = rserver.instance.dir;
        const reply = await httpRequest(
          { socketPath: rserver.socketPath },
          { path: '/auth-sign-in?appUri=%2F' },
        );
        assert.equal(reply.status, 302);
        const recorded = () =>
          existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
        await waitUntil(
          () => recorded().some((line) => /^rsession \d+ recording$/.test(line)),
          10_000,
          'rsession to start and listen for SIGTERM',
        );

        await rserver.stop();
        const lines = recorded().filter((line) => !line.endsWith(' recording'));
        assert.deepEqual(
          lines.map((line) => line.split(' ')[0]),
          ['rsession', 'rserver'],
          lines.join('\n'),
        );
        assert.match(lines[0] ?? '', /parent=same$/, 'rserver was still rsession’s parent');
        assert.equal((await rserver.exited).signal, 'SIGTERM');
        assert.deepEqual(readInstanceProcesses(dir), []);
      },
    );
  }
});
