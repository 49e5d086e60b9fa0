import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeExecOptions, normalizeJobExecOptions } from '../../lib/exec/options.js';

test("normalizeExecOptions: serve's front as exec needs it, whatever serve's variables say", () => {
  // A login shell that sets serve's variables (docs/hpc.md) must not change jupyter's exec:
  // exec has no flags for them, and its socket, prefix and token are its own.
  const env = {
    RSESSION_PROXY_LISTEN: '127.0.0.1:8787',
    RSESSION_PROXY_PREFIX: '/rstudio/',
    RSESSION_PROXY_TOKEN: 'Zq7Xw2Lr9Tb4Nc8Vm3Kp6Hd1',
    RSESSION_PROXY_ALLOW_HOSTS: 'login1.example.org',
    RSESSION_PROXY_IDLE_TIMEOUT: '5',
  };
  const { front, socketPath } = normalizeExecOptions({
    socketPath: '/tmp/jupyter-x/socket',
    rootPath: '/user/alice/rstudio/',
    env,
  });
  assert.equal(socketPath, '/tmp/jupyter-x/socket');
  assert.deepEqual(front.listen, { path: '/tmp/jupyter-x/socket' });
  assert.equal(front.prefix, '/');
  assert.equal(front.strippedPrefix, '/user/alice/rstudio/');
  assert.equal(front.supervisor.rootPath, '/user/alice/rstudio/');
  assert.deepEqual(front.token, { from: 'none' });
  assert.deepEqual(front.allowHosts, []);
  assert.equal(front.hostCheck, false);
  assert.equal(front.trustProxy, true);
  assert.equal(front.idleTimeout, 0);
  assert.equal(front.kind, 'exec');
  assert.equal(front.probePath, '/');
  assert.equal(front.checkRServer, false, 'no usable rserver is told to requests, not an exit');
  assert.equal(front.supervisor.ephemeral, true);
});

test("normalizeJobExecOptions: exec's front in a Slurm job, on its instance's own socket", () => {
  // The job inherits the login side's environment (sbatch --export=ALL): serve's variables
  // there must not make the job's front listen on a port or take the login side's token.
  const env = {
    RSESSION_PROXY_LISTEN: '127.0.0.1:8787',
    RSESSION_PROXY_PREFIX: '/other/',
    RSESSION_PROXY_TOKEN: 'Zq7Xw2Lr9Tb4Nc8Vm3Kp6Hd1',
    RSESSION_PROXY_RUNTIME_DIR: '/tmp/rsp-job-test',
  };
  const front = normalizeJobExecOptions({ instance: 'slurm-12', rootPath: '/rstudio/', env });
  assert.equal(front.listen, undefined, "the instance's proxy.sock, once the instance is held");
  assert.equal(front.supervisor.instance, 'slurm-12');
  assert.equal(front.supervisor.ephemeral, true);
  assert.equal(front.prefix, '/');
  assert.equal(front.supervisor.rootPath, '/rstudio/');
  assert.deepEqual(front.token, { from: 'none' });
  assert.equal(front.trustProxy, true);
  assert.equal(front.kind, 'exec');
  assert.equal(front.checkRServer, false);
});
