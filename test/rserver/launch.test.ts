import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isRSessionProxyError, launchRServer } from '../../lib/index.js';
import { httpRequest } from '../helpers/http-client.js';
import { makeLaunchEnv } from '../helpers/launch-env.js';
import { waitUntil } from '../helpers/proc.js';
import { DOUBLE_FAILURES, makeVariantWriter } from '../helpers/rserver-double.js';
import { markedPids } from '../helpers/leftovers.js';

const { root, options } = makeLaunchEnv();
const variant = makeVariantWriter(root);

// Signs in over the socket, which makes rserver start its rsession child.
async function signIn(socketPath: string): Promise<void> {
  const reply = await httpRequest({ socketPath }, { path: '/auth-sign-in?appUri=%2F' });
  assert.equal(reply.status, 302);
}

async function rsessionPids(lockTarget: string, rserverPid: number): Promise<number[]> {
  let pids: number[] = [];
  await waitUntil(
    () => (pids = markedPids(lockTarget).filter((pid) => pid !== rserverPid)).length > 0,
    5000,
    'rsession to start',
  );
  return pids;
}

describe('launchRServer with the rserver double', () => {
  test('starts on a private socket, answers, and stop leaves no process, socket or lock', async () => {
    const rserver = await launchRServer({ ...options, instance: 'basic' });
    const { socketPath, instance } = rserver;
    assert.equal(socketPath, join(root, 'rt', 'basic', 'rserver.sock'));
    assert.ok(statSync(socketPath).isSocket());
    assert.equal(statSync(instance.dir).mode & 0o777, 0o700);
    assert.equal(statSync(instance.dataDir).mode & 0o7777, 0o1777, 'rserver chmods its data dir');
    assert.equal(statSync(instance.cookieKeyFile).mode & 0o777, 0o600);
    const reply = await httpRequest({ socketPath }, { path: '/' });
    assert.equal(reply.status, 302);
    assert.match(String(reply.headers.location), /\/auth-sign-in\?appUri=%2F$/);

    await signIn(socketPath);
    const sessions = await rsessionPids(instance.dir, rserver.pid);
    await rserver.stop();
    assert.deepEqual(markedPids(instance.dir), []);
    assert.ok(
      !sessions.some(
        (pid) => existsSync(`/proc/${pid}/stat`) && markedPids(instance.dir).includes(pid),
      ),
    );
    assert.equal(existsSync(socketPath), false, 'socket removed');
    assert.equal(existsSync(`${instance.dir}.lock`), false, 'lock released');
    const exit = await rserver.exited;
    assert.equal(exit.signal, 'SIGTERM', 'the double dies by the signal, as rserver does');
    assert.equal(exit.error, undefined, 'a requested stop is not a crash');
  });

  test('stop also ends an rsession that left the process group (setsid)', async () => {
    const rserver = await launchRServer({
      ...options,
      instance: 'setsid',
      rserver: await variant({ RSERVER_DOUBLE_RSESSION_SETSID: '1' }),
    });
    await signIn(rserver.socketPath);
    const [session] = await rsessionPids(rserver.instance.dir, rserver.pid);
    assert.ok(session);
    await rserver.stop();
    assert.deepEqual(markedPids(rserver.instance.dir), []);
  });

  test('an rserver that ignores SIGTERM is SIGKILLed after the grace period', async () => {
    const rserver = await launchRServer({
      ...options,
      instance: 'stubborn',
      stopTimeout: 500,
      rserver: await variant({ RSERVER_DOUBLE_IGNORE_SIGTERM: '1' }),
    });
    const started = Date.now();
    await rserver.stop();
    const exit = await rserver.exited;
    assert.equal(exit.signal, 'SIGKILL');
    assert.ok(Date.now() - started >= 500);
    assert.deepEqual(markedPids(rserver.instance.dir), []);
  });

  test('readiness timeout: a hung rserver is stopped and the error says so', async () => {
    const rserver = await variant({ RSERVER_DOUBLE_HANG: '1' });
    await assert.rejects(
      launchRServer({ ...options, instance: 'hang', rserver, timeout: 800 }),
      (error) => {
        assert.ok(isRSessionProxyError(error, 'ERSERVERTIMEOUT'), String(error));
        assert.match(error.message, /did not answer on .*rserver\.sock within 0\.8 s/);
        return true;
      },
    );
    const target = join(root, 'rt', 'hang');
    assert.deepEqual(markedPids(target), []);
    assert.equal(existsSync(`${target}.lock`), false);
    assert.equal(existsSync(join(target, 'rserver.sock')), false);
  });

  const failures: (typeof DOUBLE_FAILURES)[number][] = [
    ...DOUBLE_FAILURES,
    ['unrecognised-option', /unrecognised option '--no-such-option'/, /does not know/],
  ];
  for (const [fail, line, hint] of failures) {
    test(`early exit (${fail}) surfaces rserver's own line and a hint`, async () => {
      // A real unknown option for that case; the double's knob for the others.
      const launch =
        fail === 'unrecognised-option'
          ? { extraArgs: ['--no-such-option=1'] }
          : { rserver: await variant({ RSERVER_DOUBLE_FAIL: fail }) };
      await assert.rejects(
        launchRServer({ ...options, instance: `fail-${fail}`, ...launch }),
        (error) => {
          assert.ok(isRSessionProxyError(error, 'ERSERVEREXITED'), String(error));
          assert.equal(error.exitCode, 1);
          assert.match(error.message, /rserver exited with code 1 before it was ready: /);
          assert.match(error.message, line);
          assert.match(error.hint ?? '', hint);
          assert.ok(error.stderr?.some((l) => line.test(l)));
          return true;
        },
      );
      assert.equal(existsSync(join(root, 'rt', `fail-${fail}.lock`)), false);
    });
  }

  test('an rserver older than 2024.12.0 is refused before it runs when a socket is asked for', async () => {
    const rserver = await variant({ RSERVER_DOUBLE_RELEASE: '2024.09.1+394' });
    await assert.rejects(
      launchRServer({ ...options, instance: 'old', rserver, isolation: 'socket' }),
      { code: 'EISOLATION', message: /has no --www-socket/ },
    );
    assert.equal(existsSync(join(root, 'rt', 'old.lock')), false);
  });

  test('a second launch of a running instance fails with ELOCKED naming the first', async () => {
    const first = await launchRServer({ ...options, instance: 'twice' });
    try {
      await assert.rejects(launchRServer({ ...options, instance: 'twice' }), (error) => {
        assert.ok(isRSessionProxyError(error, 'ELOCKED'));
        assert.equal(error.pid, process.pid);
        assert.ok(error.message.includes(first.socketPath));
        return true;
      });
    } finally {
      await first.stop();
    }
  });

  test('a start can be cancelled with an AbortSignal, while rserver is starting', async () => {
    const rserver = await variant({ RSERVER_DOUBLE_START_DELAY_MS: '5000' });
    const controller = new AbortController();
    const target = join(root, 'rt', 'abort');
    let seen: number[] = [];
    const launching = launchRServer({
      ...options,
      instance: 'abort',
      rserver,
      signal: controller.signal,
      // Cancel once rserver is really running and waited for.
      logger: ({ message }) => {
        if (message.startsWith('starting rserver ')) {
          void waitUntil(() => (seen = markedPids(target)).length > 0, 5000, 'rserver').then(() =>
            controller.abort(),
          );
        }
      },
    });
    await assert.rejects(launching, { code: 'EABORTED' });
    // rserver, and with it the sandbox's processes that carry the mark (unshare, its init).
    assert.ok(seen.length > 0, 'rserver had started');
    assert.deepEqual(markedPids(target), []);
    assert.equal(existsSync(`${target}.lock`), false);
  });

  test('a socket path over 107 bytes is refused before anything starts', async () => {
    const dir = join(root, 'x'.repeat(100));
    await assert.rejects(launchRServer({ ...options, socketPath: join(dir, 'rserver.sock') }), {
      code: 'EPATHTOOLONG',
    });
    assert.equal(existsSync(dir), false);
  });
});
