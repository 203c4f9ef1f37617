/**
 * `npm run bench [-- --tables 10000 --runs 3 --cpu-prof DIR]`: how the full scan grows with
 * the catalog. Builds the synthetic catalog (bench/catalog.ts) in an embedded PostgreSQL at
 * a tenth of --tables and at --tables, and at each size measures the built CLI's full
 * `perfaudit scan` (all rules, JSON to /dev/null) against the same SQL sent directly, the
 * statements the scan sent, and the scan's peak RSS. Figures are medians of --runs runs.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/embedded/server.js';
import { UsageError } from '../src/errors.js';
import { buildTables, catalogSize, runWorkload, type CatalogSize } from './catalog.js';
import { rawCollect, scanOnce, type ScanRun } from './measure.js';

interface Measured {
  readonly size: CatalogSize;
  readonly buildMs: number;
  /** The scan run of median wall time. */
  readonly scan: ScanRun;
  /** Median time of the scan's statements sent directly. */
  readonly rawMs: number;
  /** The highest peak RSS of all scan runs. */
  readonly peakRssMb: number;
  readonly findings: Readonly<Record<string, number>>;
}

const GOALS = { ratio: 1.5, peakRssMb: 300 };

function options(): { tables: number; runs: number; cpuProf: string | undefined } {
  const values = commandLine();
  const tables = Number(values.tables);
  const runs = Number(values.runs);
  if (!Number.isInteger(tables) || tables < 10) throw new UsageError('--tables takes a whole number of at least 10');
  if (!Number.isInteger(runs) || runs < 1) throw new UsageError('--runs takes a whole number of at least 1');
  return { tables, runs, cpuProf: values['cpu-prof'] };
}

function commandLine() {
  try {
    return parseArgs({
      options: { tables: { type: 'string', default: '10000' }, runs: { type: 'string', default: '3' }, 'cpu-prof': { type: 'string' } },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** One warm-up scan that keeps its report and statements, then `runs` alternating raw and scan runs. */
async function measure(url: string, runs: number, cpuProfileDir: string | undefined): Promise<Omit<Measured, 'size' | 'buildMs'>> {
  const warm = await scanOnce(url, { keepReport: true });
  const scans: ScanRun[] = [];
  const raws: number[] = [];
  for (let run = 0; run < runs; run++) {
    raws.push(await rawCollect(url, warm.statements));
    scans.push(await scanOnce(url, run === runs - 1 && cpuProfileDir ? { cpuProfileDir } : {}));
  }
  return {
    scan: median(scans, (scan) => scan.wallMs),
    rawMs: median(raws, (ms) => ms),
    peakRssMb: Math.max(...scans.map((scan) => scan.peakRssMb)),
    findings: warm.findings ?? {},
  };
}

/** The middle item by `value` (the lower middle of an even count). */
function median<T>(items: readonly T[], value: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => value(a) - value(b));
  const middle = sorted[Math.floor((sorted.length - 1) / 2)];
  if (middle === undefined) throw new Error('no runs to take the median of');
  return middle;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function report(results: readonly Measured[], runs: number): void {
  const header = ['tables', 'indexes', 'FKs', 'build', 'scan', 'raw collect', 'ratio', 'statements', 'peak RSS', 'scan CPU', 'start-up', 'SQL', 'rest'];
  const rows = results.map(({ size, buildMs, scan, rawMs, peakRssMb }) => [
    String(size.tables), String(size.indexes), String(size.foreignKeys), seconds(buildMs), seconds(scan.wallMs), seconds(rawMs),
    (scan.wallMs / rawMs).toFixed(2), String(scan.statements.length), `${peakRssMb.toFixed(0)} MB`,
    seconds(scan.cpuMs), seconds(scan.startupMs), seconds(scan.sqlMs), seconds(scan.wallMs - scan.startupMs - scan.sqlMs),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padStart(widths[column] ?? 0)).join('  ');
  console.log(`\nperfaudit scan (all rules, --format json) against its own statements sent directly, median of ${runs} runs`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log(`
scan: wall time of the CLI process (the run of median time, whose other figures follow); raw collect: the same
statements over one plain connection; peak RSS: the highest of the runs; scan CPU: the CLI process's own CPU time;
start-up: to its first statement; SQL: waiting for statements; rest: analysis, rendering and exit.`);
  for (const { size, findings } of results) {
    console.log(`findings at ${size.tables} tables: ${Object.entries(findings).map(([rule, count]) => `${rule} ${count}`).join(', ')}`);
  }
  const largest = results.at(-1);
  if (!largest) return;
  const ratio = largest.scan.wallMs / largest.rawMs;
  const counts = [...new Set(results.map((result) => result.scan.statements.length))];
  console.log(`\ngoals at ${largest.size.tables} tables:`);
  console.log(`  scan within ${GOALS.ratio}x of its raw collect: ${ratio.toFixed(2)}x ${verdict(ratio <= GOALS.ratio)}`);
  console.log(`  statements constant in the number of tables: ${counts.join(' vs ')} ${verdict(counts.length === 1)}`);
  console.log(`  peak RSS under ${GOALS.peakRssMb} MB: ${largest.peakRssMb.toFixed(0)} MB ${verdict(largest.peakRssMb < GOALS.peakRssMb)}`);
}

const verdict = (met: boolean) => (met ? 'met' : 'MISSED');

/** A progress line on stderr: rewritten in place on a terminal, only the last one elsewhere. */
function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
  else if (text.endsWith('\n')) process.stderr.write(text);
}

async function main(): Promise<void> {
  const { tables, runs, cpuProf } = options();
  const sizes = [Math.round(tables / 10), tables];
  const server = await startEmbeddedPostgres();
  try {
    await server.createDatabase('bench', 'CREATE EXTENSION pg_stat_statements');
    const url = server.url('bench');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const results: Measured[] = [];
    try {
      let built = 0;
      let buildMs = 0;
      for (const [step, target] of sizes.entries()) {
        const started = performance.now();
        await buildTables(client, built, target, (done) => progress(`building the catalog: ${done} / ${target} tables`));
        buildMs += performance.now() - started;
        progress(`built ${target} tables in ${seconds(buildMs)}\n`);
        if (step === 0) await runWorkload(client);
        built = target;
        const size = await catalogSize(client);
        progress(`measuring at ${size.tables} tables, ${size.indexes} indexes, ${size.foreignKeys} foreign keys\n`);
        const last = step === sizes.length - 1;
        results.push({ size, buildMs, ...(await measure(url, runs, last ? cpuProf : undefined)) });
      }
    } finally {
      await client.end();
    }
    report(results, runs);
  } finally {
    await server.stop();
  }
}

try {
  await main();
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
