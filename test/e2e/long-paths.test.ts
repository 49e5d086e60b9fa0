// Issue #13: rserver's own sockets live under its data directory, so a long TMPDIR (an HPC job's
// per-job one) or a long instance name once made every start fail. serve and exec, as the CLI
// runs them, with a 60-byte TMPDIR and no XDG_RUNTIME_DIR: they start, rserver answers, and the
// sign-in works; with a 32-character instance name too.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CliProcess, DOUBLE_FLAGS, makeCliEnv, serveDoubleArgs, startCli } from '../helpers/cli.js';
import { httpRequest } from '../helpers/http-client.js';
import { fetchServed, signIn } from '../helpers/served.js';
import { makeTempDir } from '../helpers/temp.js';

// A CLI environment whose runtime base comes from TMPDIR alone (60 bytes long).
function makeLongTmpEnv(): NodeJS.ProcessEnv {
  const root = makeTempDir('rsp-long-');
  const tmp = join(root, 't'.repeat(60 - root.length - 1));
  mkdirSync(tmp, { mode: 0o700 });
  assert.equal(tmp.length, 60);
  const { env } = makeCliEnv({ TMPDIR: tmp });
  delete env.RSESSION_PROXY_RUNTIME_DIR;
  delete env.XDG_RUNTIME_DIR;
  return env;
}

describe('a 60-byte TMPDIR', () => {
  for (const instance of [undefined, 'x'.repeat(32)]) {
    const what = instance === undefined ? 'the default instance' : 'a 32-character instance';
    test(`serve starts rserver and signs in (${what})`, async () => {
      const env = makeLongTmpEnv();
      const args = instance === undefined ? [] : [`--instance=${instance}`];
      const cli = await startCli(serveDoubleArgs({ args }), env);
      try {
        const signedIn = await signIn(cli);
        const page = await fetchServed(cli, '/rstudio/', { headers: signedIn.headers });
        assert.equal(page.status, 200, 'the IDE page, signed in');
      } finally {
        assert.deepEqual(await cli.stop(), { code: 0, signal: null }, cli.stderr());
      }
    });
  }

  test('exec starts rserver behind its socket', async () => {
    const env = makeLongTmpEnv();
    const dir = join(makeTempDir('rsp-jsp-'), 'x');
    mkdirSync(dir, { mode: 0o700 });
    const socket = join(dir, 'rstudio.sock');
    const exec = new CliProcess(['exec', `--socket=${socket}`, ...DOUBLE_FLAGS], env);
    try {
      await exec.waitFor(/rserver ready \(pid \d+\)/);
      const reply = await httpRequest({ socketPath: socket }, { path: '/' });
      assert.equal(reply.status, 302, reply.body.toString());
      assert.match(String(reply.headers.location), /auth-sign-in/);
    } finally {
      assert.equal((await exec.stop('SIGTERM')).code, 143, exec.stderr);
    }
  });
});
