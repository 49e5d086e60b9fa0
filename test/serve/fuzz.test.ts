// Issue #11: no request may take the front down. fast-check throws generated request lines,
// targets, header sets, bodies and upgrades (with and without the token) at a running serve
// (the built CLI and the rserver double), over TCP and over the Unix listener. Every answer must
// be a well-formed HTTP response with a 1xx-3xx or 4xx status — no 5xx comes from input — and
// the owner's own request must still work afterwards. CI runs a bounded count; `npm run
// test:fuzz` runs FUZZ_RUNS (default 50,000) per listener. A failure prints its seed: replay it
// with FUZZ_SEED=<seed> FUZZ_RUNS=<runs>.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { browse } from '../helpers/browser.js';
import { makeCliEnv, serveDoubleArgs, startCli, type RunningCli } from '../helpers/cli.js';
import { writeRserverVariant } from '../helpers/rserver-double.js';
import { cookieHeader, httpRequest, type HttpTarget } from '../helpers/http-client.js';
import { exchangeRaw } from './http-answer.js';
import { fuzzRequest, type FuzzContext } from './fuzz-requests.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const SEED =
  process.env.FUZZ_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED);

// Whether a status may answer a request: never a 5xx (input must not cause a server error).
function isAcceptable(status: number, upgrade: boolean): boolean {
  if (status === 101) return upgrade;
  return status >= 200 && status < 500;
}

// The fuzz context of a serve: its token, its cookie and rserver's, for requests that are right.
async function signInContext(
  cli: RunningCli,
  target: HttpTarget,
  host: string,
): Promise<FuzzContext> {
  const token = cli.token ?? '';
  const first = await httpRequest(target, {
    path: `/rstudio/?token=${encodeURIComponent(token)}`,
    headers: { host },
  });
  const frontCookie = (first.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
  assert.match(frontCookie, /^rsession-proxy-/);
  const signIn = await httpRequest(target, {
    path: '/rstudio/auth-sign-in?appUri=%2F',
    headers: { host, authorization: `token ${token}` },
    timeoutMs: 30_000,
  });
  const rserverCookies = (signIn.headers['set-cookie'] ?? [])
    .map((c) => c.split(';')[0])
    .join('; ');
  assert.match(rserverCookies, /user-id=/);
  return { token, frontCookie, rserverCookies, host };
}

describe('fuzzing serve', () => {
  const { root, runtimeDir, env } = makeCliEnv();
  const fronts: { name: string; cli: RunningCli; target: HttpTarget; ctx: FuzzContext }[] = [];

  before(async () => {
    // Long polls answered within the fuzz's deadline for one answer.
    const rserver = await writeRserverVariant(root, { RSERVER_DOUBLE_LONG_POLL_MS: '300' });
    const tcp = await startCli(serveDoubleArgs({ rserver, args: ['--instance=tcp'] }), env);
    const tcpTarget = { host: '127.0.0.1', port: Number(tcp.url.port) };
    fronts.push({
      name: 'TCP',
      cli: tcp,
      target: tcpTarget,
      ctx: await signInContext(tcp, tcpTarget, `127.0.0.1:${tcp.url.port}`),
    });
    const unix = await startCli(
      [
        'serve',
        ...serveDoubleArgs({ rserver }).slice(1, 3),
        '--prefix=/rstudio/',
        '--instance=unix',
      ],
      env,
    );
    const unixTarget = { socketPath: join(runtimeDir, 'unix', 'proxy.sock') };
    fronts.push({
      name: 'Unix',
      cli: unix,
      target: unixTarget,
      ctx: await signInContext(unix, unixTarget, 'localhost:8787'),
    });
  });
  after(async () => {
    for (const { cli } of fronts) assert.equal((await cli.stop()).code, 0, cli.stderr());
  });

  for (const name of ['TCP', 'Unix']) {
    test(`${RUNS} generated requests over the ${name} listener`, async (t) => {
      const front = fronts.find((f) => f.name === name);
      assert.ok(front);
      t.diagnostic(`seed ${SEED}, ${RUNS} runs: replay with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`);
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(fuzzRequest(front.ctx), async (request) => {
          const answer = await exchangeRaw(front.target, request.bytes, request.head, 5000);
          if (answer.status !== undefined)
            statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          const shown = `${JSON.stringify(request.bytes)} → ${JSON.stringify(answer.text.slice(0, 300))}`;
          assert.equal(answer.problem, undefined, `${answer.problem ?? ''}: ${shown}`);
          assert.ok(isAcceptable(answer.status ?? 0, request.upgrade), shown);
          assert.equal(front.cli.child.exitCode, null, `serve exited: ${front.cli.stderr()}`);
        }),
        { seed: SEED, numRuns: RUNS },
      );
      t.diagnostic(
        `statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`,
      );
      // The owner's browser still signs in and reaches RStudio.
      if (name === 'TCP') {
        const { visits, jar } = await browse(front.cli.url.href);
        assert.equal(visits.at(-1)?.answer.status, 200, cookieHeader(jar));
      } else {
        const ok = await httpRequest(front.target, {
          path: '/rstudio/',
          headers: {
            host: front.ctx.host,
            cookie: `${front.ctx.frontCookie}; ${front.ctx.rserverCookies}`,
          },
        });
        assert.equal(ok.status, 200);
      }
    });
  }
});
