/**
 * The benchmark's two measurements: a full `perfaudit scan` by the built CLI in a child
 * process (with bench/probe.mjs preloaded to record its statements and peak RSS), and the
 * same SQL statements sent directly over one plain connection.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PACKAGE_ROOT } from '../src/paths.js';

export interface Statement {
  readonly text: string;
  readonly values: unknown[] | undefined;
}

export interface ScanRun {
  readonly wallMs: number;
  /** Node start-up and module loading: process start to the first statement. */
  readonly startupMs: number;
  /** Time spent waiting for statements (the server's work, the wire and row parsing). */
  readonly sqlMs: number;
  /** CPU time (user + system) of the scan's process: steadier than wall time on a busy machine. */
  readonly cpuMs: number;
  readonly statements: readonly Statement[];
  readonly peakRssMb: number;
  /** Findings per rule, when the report was kept. */
  readonly findings: Readonly<Record<string, number>> | null;
}

interface ProbeOutput {
  statements: Statement[];
  sqlMs: number;
  firstStatementMs: number | null;
  cpuMs: number;
  maxRssKb: number;
}

export interface ScanOptions {
  /** Keep the JSON report and count its findings per rule (else it goes to /dev/null). */
  readonly keepReport?: boolean;
  /** Write a V8 CPU profile of the scan into this directory. */
  readonly cpuProfileDir?: string;
}

/** The node flags of bin/perfaudit.js's `#!/usr/bin/env -S node …` line: the scan runs as users run it. */
async function binNodeFlags(): Promise<string[]> {
  const shebang = (await readFile(join(PACKAGE_ROOT, 'bin', 'perfaudit.js'), 'utf8')).split('\n')[0] ?? '';
  return /^#!\/usr\/bin\/env -S node (.*)$/.exec(shebang)?.[1]?.split(' ').filter(Boolean) ?? [];
}

/** Runs `perfaudit scan --format json` (all rules) in a child process and measures it. */
export async function scanOnce(url: string, options: ScanOptions = {}): Promise<ScanRun> {
  const dir = await mkdtemp(join(tmpdir(), 'perfaudit-bench-'));
  try {
    const probeFile = join(dir, 'probe.json');
    const reportFile = options.keepReport ? join(dir, 'report.json') : '/dev/null';
    const node = [
      ...(await binNodeFlags()),
      ...(options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : []),
      '--import', join(PACKAGE_ROOT, 'bench', 'probe.mjs'),
    ];
    const args = [join(PACKAGE_ROOT, 'bin', 'perfaudit.js'), 'scan', '-d', url, '--format', 'json', '--output', reportFile, '--fail-on', 'none'];
    const started = performance.now();
    await runChild([...node, ...args], { ...process.env, NO_COLOR: '1', PERFAUDIT_BENCH_PROBE: probeFile });
    const wallMs = performance.now() - started;
    const probe = JSON.parse(await readFile(probeFile, 'utf8')) as ProbeOutput;
    return {
      wallMs,
      startupMs: probe.firstStatementMs ?? 0,
      sqlMs: probe.sqlMs,
      cpuMs: probe.cpuMs,
      statements: probe.statements,
      peakRssMb: probe.maxRssKb / 1024,
      findings: options.keepReport ? countFindings(await readFile(reportFile, 'utf8')) : null,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runChild(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`perfaudit scan exited with ${code}: ${stderr.trim()}`))));
  });
}

function countFindings(json: string): Record<string, number> {
  const report = JSON.parse(json) as { findings: Array<{ rule: string }> };
  const counts: Record<string, number> = {};
  for (const finding of report.findings) counts[finding.rule] = (counts[finding.rule] ?? 0) + 1;
  return counts;
}

/**
 * Sends the scan's statements directly, in order, over one connection with the scan
 * session's settings; returns the time from the first statement to the last result.
 */
export async function rawCollect(url: string, statements: readonly Statement[]): Promise<number> {
  const client = new pg.Client({ connectionString: url, options: '-c search_path=pg_catalog -c default_transaction_read_only=on' });
  await client.connect();
  try {
    const started = performance.now();
    for (const statement of statements) await client.query(statement.text, statement.values);
    return performance.now() - started;
  } finally {
    await client.end();
  }
}
