// R evaluates: POST /rpc/eval, signed in and with the CSRF header as every RPC, runs R code in
// the user's rsession with the R rserver was given (--rsession-which-r, RSTUDIO_WHICH_R, then R
// on PATH) and answers its printed output. Real R for the evaluations; the stand-in says what it
// is. These tests fail in CI when R is missing, and are skipped with the reason elsewhere.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { cookieHeader } from '../helpers/http-client.js';
import { processStat } from '../helpers/proc.js';
import { FAKE_R, findSessionPids, requireRealR } from '../helpers/rserver-double.js';
import {
  ask,
  callRpc,
  makeLayout,
  signInNone,
  startDouble,
  type RunningDouble,
} from './harness.js';

interface EvalAnswer {
  result?: { output: string; error?: string };
  error?: { code: number; message: string };
}

async function evaluate(
  double: RunningDouble,
  jar: Map<string, string>,
  code: string,
): Promise<EvalAnswer> {
  return (await callRpc(double, jar, 'eval', [code])) as EvalAnswer;
}

describe('POST /rpc/eval', () => {
  test('real R evaluates in the session, keeps its state, and reports R errors', async (t) => {
    const r = requireRealR(t);
    if (r === undefined) return;
    const layout = makeLayout();
    const double = await startDouble(layout, { args: [`--rsession-which-r=${r}`] });
    const jar = await signInNone(double);
    assert.deepEqual(await evaluate(double, jar, '1+1'), { result: { output: '[1] 2' } });
    assert.deepEqual(await evaluate(double, jar, 'x <- 21'), { result: { output: '' } });
    assert.deepEqual(await evaluate(double, jar, 'x * 2'), { result: { output: '[1] 42' } });
    assert.deepEqual(await evaluate(double, jar, 'cat("a\\nb\\n"); invisible(3)'), {
      result: { output: 'a\nb' },
    });
    const failed = await evaluate(double, jar, 'stop("boom")');
    assert.equal(failed.result?.output, '');
    assert.match(failed.result.error ?? '', /boom/);
    assert.deepEqual(
      await evaluate(double, jar, 'x'),
      { result: { output: '[1] 21' } },
      'R lives on',
    );

    // R runs in the rsession rserver started, not in rserver.
    const [session] = findSessionPids(layout.dir).filter(
      (pid) => processStat(pid)?.ppid === double.child.pid,
    );
    assert.ok(session !== undefined, 'an rsession child of the double');
    const rPid = Number(
      /\[1\] (\d+)/.exec((await evaluate(double, jar, 'Sys.getpid()')).result?.output ?? '')?.[1],
    );
    assert.equal(processStat(rPid)?.ppid, session, 'R is a child of rsession');
  });

  test('RPC rules: signed in, the CSRF header, one string parameter', async () => {
    const double = await startDouble(makeLayout());
    const jar = await signInNone(double);
    const body = JSON.stringify({ method: 'eval', params: ['1+1'] });
    const unauthorized = { error: { code: 3, message: 'Unauthorized' } };
    const anonymous = await ask(double, '/rpc/eval', { method: 'POST', body });
    assert.deepEqual(JSON.parse(anonymous.body.toString()), unauthorized);
    const noHeader = await ask(double, '/rpc/eval', {
      method: 'POST',
      headers: { Cookie: cookieHeader(jar) },
      body,
    });
    assert.deepEqual(JSON.parse(noHeader.body.toString()), unauthorized);
    const noCode = (await callRpc(double, jar, 'eval', [])) as EvalAnswer;
    assert.match(noCode.error?.message ?? '', /one parameter: the R code/);
  });

  test('the stand-in R answers with an error that says it is a stand-in', async () => {
    const double = await startDouble(makeLayout());
    const jar = await signInNone(double);
    const answer = await evaluate(double, jar, '1+1');
    assert.equal(answer.result, undefined);
    assert.match(answer.error?.message ?? '', /stand-in .*cannot evaluate R code/);
    assert.match(answer.error?.message ?? '', /r-base-core/);
  });

  test('R is --rsession-which-r, else RSTUDIO_WHICH_R, else R on PATH', async (t) => {
    const r = requireRealR(t);
    if (r === undefined) return;
    const standIn = /stand-in/;
    const home = execFileSync(r, ['RHOME'], { encoding: 'utf8' }).trim();
    const run = async (args: string[], env: Record<string, string>): Promise<EvalAnswer> => {
      const double = await startDouble(makeLayout(), { args, env });
      const answer = await evaluate(double, await signInNone(double), 'cat(R.home())');
      await double.stop();
      return answer;
    };
    const option = await run([`--rsession-which-r=${FAKE_R}`], { RSTUDIO_WHICH_R: r });
    assert.match(option.error?.message ?? '', standIn, 'the option wins over the environment');
    const variable = await run(['--rsession-which-r='], { RSTUDIO_WHICH_R: FAKE_R });
    assert.match(variable.error?.message ?? '', standIn, 'RSTUDIO_WHICH_R wins over PATH');
    const onPath = await run(['--rsession-which-r='], {});
    assert.deepEqual(onPath, { result: { output: home } }, 'the R on PATH');
  });
});
