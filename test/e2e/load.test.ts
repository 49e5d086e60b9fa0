// Mixed load through the built `serve` (TCP on loopback, token header) in front of the rserver
// double: 200 long polls that cycle, 200 WebSockets that echo, and plain requests as fast as
// they are answered. No request may fail, and the proxy process must give back what the load
// took: its open file descriptors and resident memory return to their level before the load.
//
// `npm test` runs it for 12 s; `npm run test:load` for 60 s (LOAD_SECONDS sets the length).
// The figures are printed as test diagnostics; docs/reliability.md quotes them.
//
// Measuring memory fairly: V8 keeps the heap it grew until its memory reducer runs, some 20-35 s
// after the traffic stops, the C allocator keeps freed arenas, and nothing outside the process
// can force either. So the baseline is taken after a warm-up of the same load, once its
// connections are closed: the proxy at its working size. A leak grows with the load's length and
// shows above it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeCliEnv, serveDoubleArgs, startCli } from '../helpers/cli.js';
import { findSocketsAndLocks, markedPids } from '../helpers/leftovers.js';
import { startMixedLoad, type MixedLoadOptions } from '../helpers/mixed-load.js';
import { waitUntil } from '../helpers/processes.js';
import { readUsage, samplePeaks, type Usage } from '../helpers/proc-usage.js';
import { writeRserverVariant } from '../helpers/rserver-double.js';
import { fetchServed, signIn } from '../helpers/served.js';
import { skipIfRanOnce } from '../helpers/once.js';

const SECONDS = Number(process.env.LOAD_SECONDS || 12);
// The warm-up brings the proxy to its working size (V8's heap and the allocator's arenas grow
// to what this load needs and are not all given back at once); a leak then shows as growth
// beyond it over the same load run again. A shorter warm-up is not enough: glibc keeps what the
// threads' arenas reached in a longer run (with MALLOC_ARENA_MAX=1 that was given back in 4 s).
const WARM_UP_SECONDS = SECONDS;
/** How long the double holds a long poll: short, so that the 200 of them cycle. */
const LONG_POLL_MS = 2000;
/** How far above the baseline the fd count and RSS may stay once the load is over. */
const TOLERANCE = 0.1;
/** How long the proxy may take to give back what the load took. */
const SETTLE_MS = 60_000;

const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

// Runs the load for `seconds` (then lets what is in flight finish), sampling the proxy's peaks.
async function runLoad(pid: number, load: MixedLoadOptions, seconds: number) {
  const sampler = samplePeaks(pid);
  const running = await startMixedLoad(load);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const tally = await running.stop();
  return { tally, peak: sampler.stop() };
}

// Waits until the proxy holds at most `limit` (fds and RSS), or SETTLE_MS have passed; returns
// the last reading and how long it took. The caller asserts on the reading.
async function settle(pid: number, limit: Usage): Promise<Usage & { ms: number }> {
  let usage = readUsage(pid);
  const started = Date.now();
  await waitUntil(
    () => {
      usage = readUsage(pid);
      return usage.fds <= limit.fds && usage.rssKiB <= limit.rssKiB;
    },
    SETTLE_MS,
    'the proxy to give back descriptors and memory',
  ).catch(() => undefined);
  return { ...usage, ms: Date.now() - started };
}

test(
  `${SECONDS} s of mixed load through serve: no failed request, descriptors and memory given back`,
  { timeout: (SECONDS + WARM_UP_SECONDS) * 1000 + 3 * SETTLE_MS + 60_000, skip: skipIfRanOnce },
  async (t) => {
    const { root, env, runtimeDir } = makeCliEnv();
    const rserver = await writeRserverVariant(root, {
      RSERVER_DOUBLE_LONG_POLL_MS: String(LONG_POLL_MS),
    });
    const cli = await startCli(serveDoubleArgs({ rserver }), env);
    const signedIn = await signIn(cli);
    const load: MixedLoadOptions = {
      origin: cli.origin,
      prefix: '/rstudio/',
      signedIn,
      longPolls: 200,
      websockets: 200,
      httpWorkers: 8,
      wsIntervalMs: 100,
    };
    // Signed in, rserver running, no client connected.
    const idle = readUsage(cli.pid);

    const warmUp = await runLoad(cli.pid, load, WARM_UP_SECONDS);
    assert.equal(warmUp.tally.failures, 0, warmUp.tally.failureSamples.join('\n'));
    const baseline = await settle(cli.pid, { fds: idle.fds, rssKiB: Infinity });

    const { tally, peak } = await runLoad(cli.pid, load, SECONDS);
    const after = await settle(cli.pid, {
      fds: Math.floor(baseline.fds * (1 + TOLERANCE)),
      rssKiB: Math.floor(baseline.rssKiB * (1 + TOLERANCE)),
    });

    const requests = tally.http + tally.longPolls + tally.wsMessages;
    for (const line of [
      `load: ${SECONDS} s after a ${WARM_UP_SECONDS} s warm-up; ${load.longPolls} long polls (held ${LONG_POLL_MS} ms), ${load.websockets} WebSockets (${load.wsIntervalMs} ms between echoes), ${load.httpWorkers} loops of plain requests`,
      `requests: ${requests} = ${tally.http} plain (${Math.round(tally.http / SECONDS)}/s) + ${tally.longPolls} long polls + ${tally.wsMessages} WebSocket echoes; failures: ${tally.failures}`,
      `fds: idle ${idle.fds}, baseline ${baseline.fds}, peak ${peak.fds}, after ${after.fds}`,
      `rss: idle ${mib(idle.rssKiB)}, baseline ${mib(baseline.rssKiB)}, peak ${mib(peak.rssKiB)}, after ${mib(after.rssKiB)} (${(after.ms / 1000).toFixed(1)} s after the load)`,
    ])
      t.diagnostic(line);

    assert.equal(tally.failures, 0, tally.failureSamples.join('\n'));
    assert.equal(tally.wsOpened, load.websockets);
    assert.ok(tally.longPolls >= load.longPolls, `every long poll cycled: ${tally.longPolls}`);
    assert.ok(tally.http > 0 && tally.wsMessages >= load.websockets);
    assert.ok(
      peak.fds >= baseline.fds + load.longPolls + load.websockets,
      `the load went through this process: peak ${peak.fds} fds`,
    );
    assert.ok(
      after.fds <= baseline.fds * (1 + TOLERANCE),
      `descriptors back to the baseline: ${after.fds} after, ${baseline.fds} before`,
    );
    assert.ok(
      after.rssKiB <= baseline.rssKiB * (1 + TOLERANCE),
      `memory back to the baseline: ${mib(after.rssKiB)} after, ${mib(baseline.rssKiB)} before`,
    );

    // The long form also waits for V8's memory reducer, to report how close to idle it gets.
    if (SECONDS >= 30) {
      const reduced = await settle(cli.pid, {
        fds: Infinity,
        rssKiB: Math.floor(idle.rssKiB * (1 + TOLERANCE)),
      });
      t.diagnostic(
        `rss ${(reduced.ms / 1000).toFixed(1)} s later: ${mib(reduced.rssKiB)} (idle ${mib(idle.rssKiB)})`,
      );
    }

    assert.equal((await fetchServed(cli, '/rstudio/_rsession-proxy/health')).status, 200);
    assert.deepEqual(await cli.stop(), { code: 0, signal: null }, cli.stderr());
    assert.deepEqual(markedPids(join(runtimeDir, 'default')), []);
    assert.deepEqual(findSocketsAndLocks(runtimeDir), []);
  },
);
