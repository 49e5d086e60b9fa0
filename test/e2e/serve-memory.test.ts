// What an idle `serve` holds before its first start of rserver and after it, with execa loaded
// lazily (docs/decisions.md): figures for the record, printed, not asserted (speed and memory
// are measured, never asserted, by the project's rules). Each is read after IDLE_MS without
// traffic, as the bench reads idle memory: V8 gives memory back only some seconds after the
// last allocation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { IDLE_MS } from '../bench/measure.js';
import { findChildren, readMemory } from '../bench/proc-stats.js';
import { makeCliEnv, serveDoubleArgs, startCli } from '../helpers/cli.js';
import { waitUntil } from '../helpers/processes.js';
import { fetchServed } from '../helpers/served.js';

const mb = (kb: number) => (kb / 1024).toFixed(1);

test('the RSS of an idle serve, before and after its first start of rserver', async (t) => {
  const { env } = makeCliEnv();
  const serve = await startCli(serveDoubleArgs(), env);
  // serve probes rserver (--help, --version) and the sandbox as it opens the instance.
  await waitUntil(() => findChildren(serve.pid).length === 0, 10_000, 'the probes to end');
  await delay(IDLE_MS);
  const before = readMemory([serve.pid]).rssKb;

  const answer = await fetchServed(serve, '/rstudio/files/x.bin?size=10', { timeout: 30_000 });
  assert.equal(answer.status, 200);
  await delay(IDLE_MS);
  const after = readMemory([serve.pid]).rssKb;
  t.diagnostic(
    `serve idle: ${mb(before)} MiB before the first start, ${mb(after)} MiB after it (VmRSS, ${IDLE_MS / 1000} s without traffic each)`,
  );
  assert.deepEqual(await serve.stop(), { code: 0, signal: null });
});
