import { startContender, type Contender, type ContenderName } from './contenders.js';
import { measureHttp, warmUpHttp, type HttpMeasurement } from './measure.js';
import type { PairedSample } from './results.js';
import { getRoundOrder, type RoundContext } from './rounds.js';

/** The contenders of the request floors: plain http-proxy, the reference, and the two held to it. */
export const PAIRED_CONTENDERS = ['httpProxy', 'adapter', 'serve'] as const;

/**
 * Back-to-back passes per round unless --paired-passes says otherwise. One pass's ratio swung by
 * ±30% on this machine (a smoke run: 61%-108% for the adapter), so the floors take the median of
 * 15 in a full run, not of 9.
 */
export const PAIRED_PASSES = 5;

// Which of the run's contenders get back-to-back passes: none without plain http-proxy, since
// every ratio is taken against it.
export function getPairedContenders(names: readonly ContenderName[]): ContenderName[] {
  const paired = PAIRED_CONTENDERS.filter((name) => names.includes(name));
  return paired.includes('httpProxy') && paired.length > 1 ? paired : [];
}

const fixed = (value: number | undefined, digits: number) =>
  value === undefined ? '-' : value.toFixed(digits);

function describePass(samples: readonly PairedSample[]): string {
  const steal = samples.flatMap((s) => [s.http32.stealShare, s.http1.stealShare]);
  const most = Math.max(...steal.map((share) => share ?? 0));
  const figures = samples.map(
    (s) =>
      `${s.contender} 32c ${fixed(s.http32.rps, 0)} req/s, 1c p50 ${fixed(s.http1.p50Ms, 3)} p99 ${fixed(s.http1.p99Ms, 3)} ms`,
  );
  return `${figures.join('; ')}; steal up to ${(most * 100).toFixed(0)}%`;
}

// The order of one pass: rotated from pass to pass, so that every contender goes first as often,
// and reversed every other pass, so that none always runs right after the same one.
export function getPassOrder<T>(contenders: readonly T[], pass: number): T[] {
  const order = getRoundOrder(contenders, Math.floor(pass / 2));
  return pass % 2 === 0 ? order : order.reverse();
}

// The request floors' figures. The machine's speed drifts between rounds (on a shared virtual
// machine the host takes a varying share of the CPU), and in the load phase two contenders' wrk
// runs are half a minute apart. Here they all run at once, and each pass measures them seconds
// apart, in an order that rotates from pass to pass, so that a ratio within a pass compares
// them on the same machine.
export async function runPairedPhase(
  names: readonly ContenderName[],
  round: number,
  context: RoundContext,
): Promise<PairedSample[]> {
  const { settings, tools, wrkScript, log } = context;
  if (tools.wrk === undefined || wrkScript === undefined || names.length === 0) return [];
  const wrk = { path: tools.wrk, script: wrkScript };
  const passes = settings.pairedPasses ?? PAIRED_PASSES;
  const samples: PairedSample[] = [];
  for (let pass = 1; pass <= passes; pass++) {
    // Fresh processes for every pass, started in the pass's order: two processes of the same
    // build, started one after the other, kept a speed of their own for as long as they ran
    // (two serves side by side on this machine: 92% and 78% of plain http-proxy's requests/s
    // over the same 8 passes), so that processes made once a round gave every floor three draws.
    const order = getPassOrder(names, (round - 1) * passes + pass - 1);
    const running: Contender[] = [];
    try {
      for (const name of order) running.push(await startContender(name, context.dir, tools));
      // A run's length of warm-up each: after the load phase's one second, the first pass of
      // every round found the adapter and serve 10-15 points below their later passes (a smoke
      // run of 2 s passes), their larger share of JavaScript not yet optimised.
      for (const contender of running) await warmUpHttp(contender, wrk, settings.seconds);
      // Every contender's 32-connection run back to back, then every 1-connection run: the
      // runs a floor compares are one run's length apart, not two.
      const at32: HttpMeasurement[] = [];
      for (const contender of running) {
        at32.push(await measureHttp(contender, wrk, 32, settings.seconds));
      }
      const measured: PairedSample[] = [];
      for (const [index, contender] of running.entries()) {
        const http1 = await measureHttp(contender, wrk, 1, settings.seconds);
        const http32 = at32[index];
        if (http32) measured.push({ round, pass, contender: contender.name, http1, http32 });
      }
      samples.push(...measured);
      log(`pass ${pass} of ${passes}: ${describePass(measured)}`);
    } finally {
      for (const contender of running) await contender.stop();
    }
  }
  return samples;
}
