// http-proxy 1.18.1 calls util._extend, which Node.js 22 and later deprecate (DEP0060) with a
// warning on the first request. The command hides that warning and no other; the library does
// not hide it, and docs/api.md says how to (`--disable-warning=DEP0060`). On Node.js 20 there is
// no such warning, and these tests check only that nothing else is lost.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fetchText } from '../helpers/fetch-text.js';
import { makeCliEnv, serveDoubleArgs, startCli } from '../helpers/cli.js';
import { waitForLine } from '../helpers/processes.js';
import { signIn } from '../helpers/served.js';
import { makeTempDir } from '../helpers/temp.js';
import { startTinyBackend } from '../helpers/tiny-backend.js';

const DEPRECATES_EXTEND = Number(process.versions.node.split('.')[0]) >= 22;
const ADAPTER_FRONT = join(import.meta.dirname, '..', 'fixtures', 'adapter-front.js');

describe('the util._extend deprecation warning', () => {
  test('serve prints no deprecation warning, and every other warning still', async () => {
    // Preloaded into serve: on SIGUSR2, calls util._extend itself and emits a warning of its own.
    const dir = makeTempDir('rsp-dep-');
    const preload = join(dir, 'warn-on-signal.cjs');
    writeFileSync(
      preload,
      `process.on('SIGUSR2', () => {
  require('node:util')._extend({}, {});
  process.emitWarning('a warning of its own', { code: 'RSP_TEST_WARNING' });
});\n`,
    );
    const { env } = makeCliEnv({ NODE_OPTIONS: `--require=${preload}` });
    const cli = await startCli(serveDoubleArgs(), env);
    try {
      // Through http-proxy: rserver starts, then the sign-in goes through.
      await signIn(cli);
      cli.child.kill('SIGUSR2');
      // Emitted after util._extend's, so printed after it, had it been printed.
      await waitForText(() => cli.stderr(), /\[RSP_TEST_WARNING\] Warning: a warning of its own/);
      assert.doesNotMatch(cli.stderr(), /DEP0060|DeprecationWarning/);
    } finally {
      await cli.stop();
    }
  });

  test(`the adapter in a plain server ${DEPRECATES_EXTEND ? 'prints it' : 'prints none on this Node.js'}; --disable-warning=DEP0060 hides it`, async () => {
    const dir = makeTempDir('rsp-dep-lib-');
    const backend = await startTinyBackend(dir);
    after(() => backend.close());
    for (const flags of [[], ['--disable-warning=DEP0060']]) {
      const child = spawn(process.execPath, [...flags, ADAPTER_FRONT, backend.socketPath], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      try {
        const port = (await waitForLine(child, /^listening \d+$/)).split(' ')[1] ?? '';
        assert.equal((await fetchText(`http://127.0.0.1:${port}/rstudio/echo`)).status, 200);
        const expected = DEPRECATES_EXTEND && flags.length === 0;
        if (expected) await waitForText(() => stderr, /\[DEP0060\] DeprecationWarning/);
        // The warning is printed on the tick after the request that caused it; a second
        // request's answer comes well after that.
        assert.equal((await fetchText(`http://127.0.0.1:${port}/rstudio/echo`)).status, 200);
        if (!expected) assert.doesNotMatch(stderr, /DEP0060/, flags.join(' '));
      } finally {
        child.stdin.end();
        child.kill();
      }
    }
  });
});

// Waits (at most 10 s) until `read()` matches `pattern`.
async function waitForText(read: () => string, pattern: RegExp): Promise<void> {
  const started = Date.now();
  while (!pattern.test(read())) {
    if (Date.now() - started > 10_000) throw new Error(`no ${pattern} in:\n${read()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
