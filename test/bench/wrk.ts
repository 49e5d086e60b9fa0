import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './processes.js';

/** One wrk run, in the units the report uses. */
export interface HttpResult {
  connections: number;
  requests: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
  /** Socket errors, timeouts and non-2xx answers: a run with any is not a valid figure. */
  errors: number;
}

const MARK = 'BENCH_WRK ';

// wrk's `done` hook prints the exact figures as one JSON line (its own summary rounds them).
// %.0f rather than %d: wrk's percentiles are doubles to Lua.
export const WRK_SCRIPT = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '${MARK}{"requests":%.0f,"durationUs":%.0f,"p50Us":%.0f,"p90Us":%.0f,"p99Us":%.0f,' ..
    '"meanUs":%.1f,"maxUs":%.0f,"errors":%.0f}\\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max,
    e.connect + e.read + e.write + e.status + e.timeout))
end
`;

interface WrkLine {
  requests: number;
  durationUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  meanUs: number;
  maxUs: number;
  errors: number;
}

// The figures from wrk's output (the line the done hook printed).
export function parseWrkOutput(stdout: string, connections: number): HttpResult {
  const line = stdout.split('\n').find((text) => text.startsWith(MARK));
  if (line === undefined) throw new Error(`wrk printed no result line:\n${stdout}`);
  const raw = JSON.parse(line.slice(MARK.length)) as WrkLine;
  const ms = (us: number) => us / 1000;
  return {
    connections,
    requests: raw.requests,
    rps: raw.requests / (raw.durationUs / 1e6),
    p50Ms: ms(raw.p50Us),
    p90Ms: ms(raw.p90Us),
    p99Ms: ms(raw.p99Us),
    meanMs: ms(raw.meanUs),
    maxMs: ms(raw.maxUs),
    errors: raw.errors,
  };
}

export async function writeWrkScript(dir: string): Promise<string> {
  const path = join(dir, 'report.lua');
  await writeFile(path, WRK_SCRIPT);
  return path;
}

export interface WrkRun {
  wrk: string;
  script: string;
  url: string;
  headers: Record<string, string>;
  connections: number;
  seconds: number;
}

// One wrk thread: on 2 cores the other one is left to the proxy and the backend.
export async function runWrk(run: WrkRun): Promise<HttpResult> {
  const args = ['-t1', `-c${run.connections}`, `-d${run.seconds}s`, '--timeout', '10s'];
  args.push('-s', run.script);
  for (const [name, value] of Object.entries(run.headers)) args.push('-H', `${name}: ${value}`);
  args.push(run.url);
  const result = await runCommand(run.wrk, args, { timeout: (run.seconds + 30) * 1000 });
  if (result.code !== 0) throw new Error(`wrk failed (${result.code}): ${result.stderr}`);
  return parseWrkOutput(result.stdout, run.connections);
}
