// `npm run bench`: the proxy against nginx and against going direct, on this machine, in one run.
// See docs/benchmarks.md for what is measured and how; `--help` for the options.
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { renderChart } from './chart.js';
import { canRun, type ContenderName } from './contenders.js';
import { checkFloors } from './floors.js';
import { describeMachine, readLoadAverage } from './machine.js';
import { renderNginxConfig } from './nginx.js';
import { parseOptions, USAGE, type BenchOptions } from './options.js';
import { getPairedContenders, runPairedPhase } from './paired.js';
import { stopAllOnExit } from './processes.js';
import { renderReport } from './report.js';
import type { ContenderRun, PairedSample, Results } from './results.js';
import { getRoundOrder, runColdStarts, runLoadPhase, runMemoryPhase } from './rounds.js';
import { getSlurmSkipReason, runSlurmSection } from './slurm.js';
import { checkSlurmFloors } from './slurm-report.js';
import { ensureTools } from './tools.js';
import { writeWrkScript } from './wrk.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

async function measure(options: BenchOptions): Promise<Results> {
  const { settings } = options;
  const tools = await ensureTools(log);
  const machine = await describeMachine(tools);
  const skipped: string[] = [];
  if (tools.wrk === undefined) skipped.push('requests/s and latency (wrk is not installed)');
  const contenders = options.only.filter((name) => {
    if (canRun(name, tools)) return true;
    skipped.push(`${name} (nginx is not installed)`);
    return false;
  });
  const dir = await mkdtemp(join(tmpdir(), 'rsp-bench-'));
  try {
    const context = {
      dir,
      tools,
      settings,
      wrkScript: tools.wrk === undefined ? undefined : await writeWrkScript(dir),
      log,
    };
    const paired = getPairedContenders(contenders);
    if (paired.length === 0 && contenders.some((name) => name === 'adapter' || name === 'serve')) {
      skipped.push('back-to-back passes (plain http-proxy, their reference, is not in the run)');
    }
    const runs: ContenderRun[] = [];
    const passes: PairedSample[] = [];
    for (let round = 1; round <= settings.repeats; round++) {
      log(`round ${round} of ${settings.repeats}`);
      const order = getRoundOrder<ContenderName>(contenders, round - 1);
      const memory = await runMemoryPhase(
        order.filter((name) => name !== 'direct'),
        context,
      );
      for (const name of order) {
        runs.push({ ...(await runLoadPhase(name, context)), round, memory: memory.get(name) });
      }
      passes.push(...(await runPairedPhase(paired, round, context)));
    }
    const coldStart = contenders.includes('serve') ? await runColdStarts(context) : [];
    const slurmSkip = options.slurm ? getSlurmSkipReason() : 'the Slurm path (--no-slurm)';
    if (slurmSkip !== undefined) skipped.push(slurmSkip);
    const slurm =
      slurmSkip === undefined
        ? await runSlurmSection(context, options.mode === 'quick' ? 2 ** 25 : 2 ** 27)
        : undefined;
    return {
      version: 1,
      generatedAt: new Date().toISOString(),
      mode: options.mode,
      settings,
      machine: { ...machine, loadAtEnd: readLoadAverage() },
      contenders,
      skipped,
      nginxConfig: contenders.includes('nginx')
        ? renderNginxConfig({ dir: '<dir>', port: '<port>', socketPath: '<dir>/backend.sock' })
        : undefined,
      runs,
      paired: passes.length > 0 ? passes : undefined,
      coldStart,
      slurm,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// The JSON and the Markdown go through prettier, so that the repository's lint accepts them.
async function writeOutputs(results: Results, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const config = (await resolveConfig(join(ROOT, 'package.json'))) ?? {};
  const json = await format(JSON.stringify(results), { ...config, parser: 'json' });
  const markdown = await format(renderReport(results), {
    ...config,
    parser: 'markdown',
  });
  await writeFile(join(outDir, 'benchmarks.json'), json);
  await writeFile(join(outDir, 'benchmarks.md'), markdown);
  await writeFile(join(outDir, 'benchmarks.svg'), renderChart(results));
}

export async function main(argv: readonly string[]): Promise<number> {
  const options = parseOptions(argv, ROOT);
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let results: Results;
  if (options.reportOnly) {
    results = JSON.parse(
      await readFile(join(options.outDir, 'benchmarks.json'), 'utf8'),
    ) as Results;
  } else {
    stopAllOnExit();
    results = await measure(options);
  }
  await writeOutputs(results, options.outDir);
  for (const check of checkFloors(results)) {
    const verdict = check.met === undefined ? 'n/a   ' : check.met ? 'met   ' : 'MISSED';
    log(`${verdict} ${check.contender}: ${check.floor}: ${check.figure}`);
  }
  for (const check of results.slurm ? checkSlurmFloors(results.slurm) : []) {
    const verdict = check.met === undefined ? 'n/a   ' : check.met ? 'met   ' : 'MISSED';
    log(`${verdict} slurm: ${check.floor}: ${check.figure}`);
  }
  log(`wrote ${join(options.outDir, 'benchmarks.md')} (and .json, .svg)`);
  return 0;
}

process.exit(await main(process.argv.slice(2)));
