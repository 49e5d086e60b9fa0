// The benchmark's pieces work: its backend answers, its configurations and parsers are right, its
// report renders. Nothing here needs nginx or wrk, and nothing is timed: the figures are
// `npm run bench`'s business (docs/benchmarks.md).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { parseHelpOptions } from '../../lib/index.js';
import { makeTempDir } from '../helpers/temp.js';
import { closeWebSocket, nextMessage, openWebSocket } from '../helpers/ws-client.js';
import { renderChart } from './chart.js';
import { CONTENDERS, FAKE_RSERVER } from './contenders.js';
import { checkFloors } from './floors.js';
import { renderNginxConfig } from './nginx.js';
import { parseCpuTicks, parseSmapsRollup, parseStatusMemory } from './proc-stats.js';
import { parseOptions } from './options.js';
import { getPairedContenders, getPassOrder, PAIRED_PASSES } from './paired.js';
import { getPassRatios } from './pass-ratios.js';
import { renderReport } from './report.js';
import { getMetric, type ContenderRun, type PairedSample, type Results } from './results.js';
import { getRoundOrder } from './rounds.js';
import { getStealShare, parseCpuTimes } from './steal-time.js';
import { createBenchBackend, TINY_BODY } from './servers/backend-app.js';
import { listenOn } from './servers/announce.js';
import { median, percentile, spread } from './stats.js';
import { parseWrkOutput, WRK_SCRIPT } from './wrk.js';

// GET over the backend's Unix socket: status, body length, body start.
function get(
  socketPath: string,
  path: string,
): Promise<{ status: number; bytes: number; start: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, agent: false }, (res) => {
      let bytes = 0;
      let start = '';
      res.on('data', (chunk: Buffer) => {
        if (bytes === 0) start = chunk.toString('latin1', 0, 100);
        bytes += chunk.length;
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, bytes, start }));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('the bench backend', () => {
  const dir = makeTempDir('rsp-bench-');
  const socketPath = join(dir, 'backend.sock');
  const server = createBenchBackend();
  const tcp = createBenchBackend();
  let port = 0;
  before(async () => {
    await listenOn(server, socketPath);
    port = (await listenOn(tcp, 'tcp')) ?? 0;
  });
  after(() => {
    for (const each of [server, tcp]) {
      each.closeAllConnections();
      each.close();
    }
  });

  test('GET / answers the small body', async () => {
    assert.deepEqual(await get(socketPath, '/'), {
      status: 200,
      bytes: Buffer.byteLength(TINY_BODY),
      start: TINY_BODY,
    });
  });

  test('/download streams exactly the size asked for', async () => {
    const size = 3 * 64 * 1024 + 123;
    const answer = await get(socketPath, `/download?size=${size}`);
    assert.equal(answer.status, 200);
    assert.equal(answer.bytes, size);
    assert.equal((await get(socketPath, '/download?size=-1')).status, 400);
  });

  test('WebSockets echo, on TCP too', async () => {
    const ws = await openWebSocket(`ws://127.0.0.1:${port}/echo`);
    try {
      ws.send(Buffer.from([1, 2, 3]));
      assert.deepEqual(await nextMessage(ws), Buffer.from([1, 2, 3]));
    } finally {
      await closeWebSocket(ws);
    }
  });
});

test('the stand-in rserver lists what the launcher looks for in --help', async () => {
  const { stdout } = await promisify(execFile)(FAKE_RSERVER, ['--help']);
  const options = parseHelpOptions(stdout);
  for (const name of ['www-socket', 'server-user', 'www-root-path']) assert.ok(options.has(name));
});

test('the nginx configuration: one worker, a keep-alive upstream on the socket, WebSockets', () => {
  const config = renderNginxConfig({ dir: '/d', port: 8080, socketPath: '/d/b.sock' });
  assert.match(config, /^worker_processes 1;$/m);
  assert.match(config, /upstream backend \{\s+server unix:\/d\/b\.sock;\s+keepalive \d+;/);
  assert.match(config, /listen 127\.0\.0\.1:8080;/);
  assert.match(config, /proxy_http_version 1\.1;/);
  assert.match(config, /proxy_set_header Connection \$connection_upgrade;/);
  assert.match(config, /map \$http_upgrade \$connection_upgrade \{\s+default upgrade;\s+'' '';/);
  assert.doesNotMatch(config, /^user /m);
  assert.match(
    renderNginxConfig({ dir: '/d', port: 1, socketPath: '/s', user: 'root' }),
    /^user root;$/m,
  );
});

test("wrk's done hook is parsed into the report's units", () => {
  assert.match(WRK_SCRIPT, /^done = function\(summary, latency, requests\)/);
  const output = [
    'Running 5s test @ http://127.0.0.1:1/',
    'BENCH_WRK {"requests":50000,"durationUs":5000000,"p50Us":250,"p90Us":400,"p99Us":1200,"meanUs":300.5,"maxUs":9000,"errors":0}',
  ].join('\n');
  assert.deepEqual(parseWrkOutput(output, 32), {
    connections: 32,
    requests: 50_000,
    rps: 10_000,
    p50Ms: 0.25,
    p90Ms: 0.4,
    p99Ms: 1.2,
    meanMs: 0.3005,
    maxMs: 9,
    errors: 0,
  });
  assert.throws(() => parseWrkOutput('no result', 1), /no result line/);
});

test('/proc parsers', () => {
  const status = 'Name:\tnode\nVmHWM:\t   61234 kB\nVmRSS:\t   60000 kB\nThreads:\t7\n';
  assert.deepEqual(parseStatusMemory(status), { rssKb: 60_000, hwmKb: 61_234 });
  assert.equal(parseStatusMemory('Name:\tx\n'), undefined);
  const rollup =
    'Rss:               59000 kB\nPss:               19000 kB\nAnonymous:         15000 kB\n';
  assert.deepEqual(parseSmapsRollup(rollup), { pssKb: 19_000, anonymousKb: 15_000 });
  // The command name may hold spaces and parentheses; utime and stime are fields 14 and 15.
  const stat = '42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 1234 0 0';
  assert.equal(parseCpuTicks(stat), 300);
});

// Read 12 s after each batch, the second can find the proxy smaller than the first (a collection
// between the readings): the figure is both batches over idle, never the second alone.
test('RSS per idle WebSocket is both batches over the idle RSS', () => {
  const memory = {
    busyRssKb: 60_000,
    idleRssKb: 54_000,
    idlePssKb: undefined,
    idleAnonymousKb: undefined,
    sockets: 1000,
    firstSocketsRssKb: 81_000,
    withSocketsRssKb: 77_000,
    openMs: 1000,
  };
  const run = { memory } as unknown as ContenderRun;
  assert.equal(getMetric('kbPerWs').get(run), ((77_000 - 54_000) * 1.024) / 2000);
});

test('statistics', () => {
  assert.equal(percentile([1, 2, 3, 4], 50), 2);
  assert.equal(percentile([1, 2, 3, 4], 99), 4);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.deepEqual(spread([5, 1, 3]), { median: 3, min: 1, max: 5, values: [5, 1, 3] });
});

test('rounds rotate the order of the contenders', () => {
  assert.deepEqual(getRoundOrder(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
  assert.deepEqual(getRoundOrder(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
  assert.deepEqual(getRoundOrder(['a', 'b', 'c'], 3), ['a', 'b', 'c']);
});

// Results shaped like a run's, with made-up figures (none of them is asserted).
function fakeResults(): Results {
  const runs: ContenderRun[] = [];
  for (const round of [1, 2, 3]) {
    for (const contender of CONTENDERS) {
      const http = (connections: number) => ({
        connections,
        requests: 1000,
        rps: 1000 * round,
        p50Ms: 0.1,
        p90Ms: 0.2,
        p99Ms: 0.5,
        meanMs: 0.12,
        maxMs: 3,
        errors: 0,
        cpuUsPerRequest: contender === 'direct' ? undefined : 50,
      });
      runs.push({
        contender,
        round,
        memory:
          contender === 'direct'
            ? undefined
            : {
                busyRssKb: 60_000,
                idleRssKb: 55_000,
                idlePssKb: 20_000,
                idleAnonymousKb: 15_000,
                sockets: 1000,
                withSocketsRssKb: 80_000,
                openMs: 900,
              },
        http1: http(1),
        http32: http(32),
        wsEcho: {
          rttP50Ms: 0.05,
          rttP99Ms: 0.2,
          pingPongPerSecond: 9000,
          messagesPerSecond: 90_000,
        },
        download: {
          bytes: 2 ** 30,
          seconds: 1.5,
          firstByteMs: 3,
          rssBeforeKb: 55_000,
          warmupBytes: 2 ** 27,
          warmupPeakKb: 90_000,
          rssPeakKb: 91_000,
          cpuSeconds: 0.8,
        },
      });
    }
  }
  return {
    version: 1,
    generatedAt: '2026-01-01T00:00:00.000Z',
    mode: 'quick',
    settings: {
      repeats: 3,
      seconds: 2,
      downloadBytes: 2 ** 30,
      warmupDownloadBytes: 2 ** 27,
      idleSockets: 1000,
      idleMs: 12_000,
      coldStarts: 1,
    },
    machine: {
      cpu: 'Test CPU',
      cores: 2,
      memoryGiB: 4,
      kernel: 'Linux 6.1',
      os: 'Debian',
      node: 'v20.0.0',
      nginx: '1.22.1',
      wrk: '4.1.0',
      loadAtStart: 0.5,
    },
    contenders: [...CONTENDERS],
    skipped: [],
    nginxConfig: 'worker_processes 1;\n',
    runs,
    coldStart: [
      {
        rserver: 'bench backend',
        samples: [{ ownStartMs: 150, serveFirstByteMs: 200, serveFreshRssKb: 56_000 }],
      },
    ],
  };
}

test('the report and the chart render from results alone', () => {
  const results = fakeResults();
  const report = renderReport(results);
  assert.match(report, /^<!-- Generated by `npm run bench`/);
  assert.match(report, /Test CPU, 2 cores/);
  assert.match(report, /\| .*bare node:http.* \|/);
  assert.match(report, /worker_processes 1;/);
  const svg = renderChart(results);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.equal(checkFloors(results).filter((check) => check.met === undefined).length, 0);
});

test("the steal share comes from /proc/stat's cpu line, and is undefined without a steal field", () => {
  const at = (user: number, idle: number, steal: number) =>
    `cpu  ${user} 0 300 ${idle} 10 0 50 ${steal} 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 12345\n`;
  const before = parseCpuTimes(at(1000, 5000, 40));
  assert.deepEqual(before, { steal: 40, total: 6400 });
  // 600 ticks went by, 150 of them stolen; guest (the 9th field) is in user and not added again.
  const after = parseCpuTimes(at(1300, 5150, 190).replace(/ 0 0\ncpu0/, ' 77 0\ncpu0'));
  assert.deepEqual(after, { steal: 190, total: 7000 });
  assert.equal(getStealShare(before, after), 0.25);
  assert.equal(parseCpuTimes('cpu  1 2 3 4 5 6 7\n'), undefined);
  assert.equal(parseCpuTimes('cpu0 1 2 3 4 5 6 7 8\n'), undefined);
  assert.equal(getStealShare(before, undefined), undefined);
  assert.equal(getStealShare(before, before), undefined);
});

test('back-to-back passes need plain http-proxy and one contender held to it', () => {
  assert.deepEqual(getPairedContenders(['serve', 'nginx', 'httpProxy', 'adapter']), [
    'httpProxy',
    'adapter',
    'serve',
  ]);
  assert.deepEqual(getPairedContenders(['adapter', 'serve']), []);
  // Six passes of three: every order once, so each goes first twice and follows each other one
  // as often as it precedes it.
  const orders = [0, 1, 2, 3, 4, 5].map((pass) => getPassOrder(['a', 'b', 'c'], pass).join(''));
  assert.deepEqual([...orders].sort(), ['abc', 'acb', 'bac', 'bca', 'cab', 'cba']);
  assert.deepEqual(getPairedContenders(['httpProxy', 'nginx']), []);
  assert.equal(parseOptions(['--paired-passes', '5'], '/r').settings.pairedPasses, 5);
  assert.equal(parseOptions([], '/r').settings.pairedPasses, PAIRED_PASSES);
  assert.throws(() => parseOptions(['--paired-passes', '0'], '/r'), /--paired-passes/);
});

// One contender's wrk figures in one pass: `rps` at 32 connections, `p50` and `p99` at 1.
function sample(
  contender: PairedSample['contender'],
  round: number,
  pass: number,
  figures: { rps: number; p50: number; p99: number },
): PairedSample {
  const http = (connections: number, rps: number, p50Ms: number, p99Ms: number) => ({
    connections,
    requests: rps * 5,
    rps,
    p50Ms,
    p90Ms: p50Ms,
    p99Ms,
    meanMs: p50Ms,
    maxMs: p99Ms,
    errors: 0,
    cpuUsPerRequest: 50,
    stealShare: 0.1 * pass,
  });
  return {
    round,
    pass,
    contender,
    http1: http(1, 5000, figures.p50, figures.p99),
    http32: http(32, figures.rps, 1, 2),
  };
}

// Three passes in which the machine ran at 1×, 2× and 4× the speed: plain http-proxy's req/s
// follows it, and so does each proxy's, to `share` of plain http-proxy's in every pass but the
// second, where it got `second`.
function passes(share: number, second: number): PairedSample[] {
  const speeds = [100, 200, 400];
  return speeds.flatMap((speed, index) => {
    const mine = index === 1 ? second : share;
    const latency = { p50: 0.2 / (speed / 100), p99: 0.5 / (speed / 100) };
    return [
      sample('httpProxy', 1, index + 1, { rps: speed, ...latency }),
      sample('adapter', 1, index + 1, {
        rps: speed * mine,
        p50: latency.p50 * 1.1,
        p99: latency.p99 * 1.2,
      }),
      sample('serve', 1, index + 1, { rps: speed * mine, p50: latency.p50, p99: latency.p99 }),
    ];
  });
}

const floorFor = (results: Results, contender: string, prefix: string) => {
  const check = checkFloors(results).find(
    (candidate) => candidate.contender === contender && candidate.floor.startsWith(prefix),
  );
  assert.ok(check, `no ${prefix} floor for ${contender}`);
  return check;
};

test('the request floors are the median of per-pass ratios, where there are passes', () => {
  // Passes at 95%, 75%, 95%: the median ratio is 95%, while the medians (150 against 200)
  // are 75% of each other.
  const meets = { ...fakeResults(), paired: passes(0.95, 0.75) };
  assert.deepEqual(
    getPassRatios(meets.paired, 'adapter', 'httpProxy', 'rps32')?.values,
    [0.95, 0.75, 0.95],
  );
  const rps = floorFor(meets, 'adapter', 'requests/s');
  assert.equal(rps.met, true);
  assert.match(
    rps.figure,
    /^95\.0% \(median of 3 passes; passes 75\.0%–95\.0%; medians 150 vs 200 req\/s\)$/,
  );
  const p50 = floorFor(meets, 'adapter', 'p50');
  assert.equal(p50.met, true);
  assert.match(p50.figure, /^1\.10× \(median of 3 passes; passes 1\.10×–1\.10×;/);
  assert.equal(floorFor(meets, 'adapter', 'p99').met, true);
  assert.equal(floorFor(meets, 'serve', 'requests/s').met, true);
  // 80% in two passes of three: below the adapter's 90% and serve's 85%, whatever the third.
  const misses = { ...fakeResults(), paired: passes(0.8, 1.2) };
  assert.equal(floorFor(misses, 'adapter', 'requests/s').met, false);
  assert.match(floorFor(misses, 'adapter', 'requests/s').figure, /^80\.0% \(median of 3 passes;/);
  assert.equal(floorFor(misses, 'serve', 'requests/s').met, false);
  // The download floor is against nginx's rounds, passes or not.
  assert.equal(
    floorFor(misses, 'adapter', 'download').figure,
    floorFor(fakeResults(), 'adapter', 'download').figure,
  );
});

test('the report shows the passes, and a run from before them renders with ratios of medians', () => {
  const withPasses = { ...fakeResults(), paired: passes(0.95, 0.75) };
  withPasses.settings.pairedPasses = 3;
  const report = renderReport(withPasses);
  assert.match(report, /^## Back-to-back passes$/m);
  assert.match(report, /plain http-proxy, the adapter and serve ran side by\s+side/);
  // fakeResults() records no pass order: each contender ran at 32 connections and then at 1.
  assert.match(report, /each in turn ran wrk for 2 s at 32 connections and then at 1,/);
  withPasses.settings.passOrder = 'fresh-processes';
  assert.match(
    renderReport(withPasses),
    /Every pass started fresh processes of plain http-proxy, the adapter and serve, side by side,/,
  );
  assert.match(
    report,
    /^\| adapter \| \*\*150\*\* \(95–380\) \|.* \| \*\*95\.0%\*\* \(75\.0%–95\.0%\) \|/m,
  );
  assert.match(report, /steal, from `\/proc\/stat`\) during each of\s+these wrk runs: 20\.0% at/);
  assert.match(report, /\*\*Request floors, from back-to-back passes\.\*\*/);
  // What was learned states the passes' figures, and the ratio as the floor does.
  assert.match(report, /the adapter\s+150 \(95\.0% of plain http-proxy's\) at 50\.0 µs/);
  assert.match(report, /in the rounds' own runs, each alone: plain http-proxy 2,000 at/);
  assert.match(renderChart(withPasses), /floor: 90% of plain http-proxy in the passes/);

  // fakeResults() is shaped like a JSON from before the passes: no `paired`, no steal.
  const old = fakeResults();
  assert.equal('paired' in old, false);
  const oldReport = renderReport(old);
  assert.doesNotMatch(oldReport, /Back-to-back passes/);
  assert.match(oldReport, /the adapter\s+2,000 \(100% of plain http-proxy's\)/);
  assert.doesNotMatch(oldReport, /rounds' own runs|in the passes/);
  assert.doesNotMatch(renderChart(old), /in the passes/);
  assert.match(
    oldReport,
    /\| CPU time the host took away \(steal\) during a wrk run \| not recorded \|/,
  );
  const rps = floorFor(old, 'adapter', 'requests/s');
  assert.equal(rps.figure, '100.0% (2000 vs 2000 req/s)');
  assert.equal(rps.met, true);
  assert.equal(checkFloors(old).filter((check) => check.met === undefined).length, 0);
});
