import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { flywayFileName, migrationFiles, type MigrationFile, type MigrationTool } from '../plan/migration.js';
import { buildPlan, type PlanStep } from '../plan/plan.js';
import { lockImpact } from '../report/sql.js';
import type { Report } from '../report/report.js';
import { emit } from './output.js';
import { runScan, type ScanInput } from './run-scan.js';

export const PLAN_FORMATS = ['sql', 'json'] as const;
export type PlanFormat = (typeof PLAN_FORMATS)[number];

export interface PlanOptions extends ScanInput {
  readonly format: PlanFormat;
  readonly output?: string;
  readonly migrationTool?: MigrationTool;
}

/**
 * `perfaudit plan`: the fix actions of a scan as one ordered migration: drops, then
 * builds, then table changes, then maintenance by urgency (wraparound first, then the
 * most wasted bytes), each with its lock and whether it runs online. Writes nothing to
 * the database; `--only` narrows it to some rules.
 */
export async function planCommand(options: PlanOptions & { only?: string[] }): Promise<number> {
  const tool = options.migrationTool ?? 'plain';
  if (tool !== 'plain' && options.format === 'json') throw new UsageError('--migration-tool writes SQL; it cannot be combined with --format json');
  if ((tool === 'golang-migrate' || tool === 'flyway') && !options.output) {
    throw new UsageError(`--migration-tool ${tool} needs --output (${tool === 'flyway' ? 'the .sql file or a directory' : 'a directory'})`);
  }
  const { report } = await runScan({ ...options, rules: options.only ?? options.rules });
  if (options.format === 'json') {
    await emit(renderPlanJson(report), options.output);
    return 0;
  }
  const context = { database: report.database.name, startedAt: report.startedAt };
  const plan = buildPlan(report.findings);
  if (tool === 'golang-migrate') {
    const dir = options.output ?? '';
    await writeFiles((await migrationFiles(tool, plan, context, '')).map((file) => ({ ...file, path: join(dir, file.path) })), dir);
    return 0;
  }
  let output = options.output;
  if (tool === 'flyway' && output && (await isDirectory(output))) output = join(output, flywayFileName(report.startedAt));
  const files = await migrationFiles(tool, plan, context, output ?? '');
  if (!output) {
    await emit(files[0]?.content ?? '', undefined);
    return 0;
  }
  await writeFiles(files);
  return 0;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function writeFiles(files: readonly MigrationFile[], dir?: string): Promise<void> {
  for (const file of files) {
    try {
      await mkdir(dir ?? dirname(file.path), { recursive: true });
      await writeFile(file.path, file.content);
    } catch (error) {
      throw new UsageError(`cannot write ${file.path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
}

function renderPlanJson(report: Report): string {
  const plan = buildPlan(report.findings);
  const step = (planned: PlanStep) => ({
    ...planned.action,
    online: lockImpact(planned.action.lock) === 'online',
    impact: lockImpact(planned.action.lock),
    findings: planned.findings.map((finding) => ({ rule: finding.rule, severity: finding.severity, fingerprint: finding.fingerprint, message: finding.message })),
  });
  return `${JSON.stringify({
    schemaVersion: 1,
    database: report.database,
    steps: plan.steps.map(step),
    held: plan.held.map((held) => ({ ...step(held), reason: held.reason })),
  }, null, 2)}\n`;
}
