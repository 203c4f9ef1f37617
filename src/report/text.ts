import { Chalk, type ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import type { Finding, Severity } from '../rule.js';
import { baselineSentence, entryLabel } from './describe.js';
import type { Report } from './report.js';

const SEVERITIES: readonly Severity[] = ['critical', 'warning', 'info'];

/** The report for people: findings grouped by severity, each with its numbers and fix. */
export function renderText(report: Report, options: { color: boolean }): string {
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const paint: Record<Severity, ChalkInstance> = { critical: c.red.bold, warning: c.yellow.bold, info: c.cyan };
  const out: string[] = [
    c.bold(`perfaudit ${report.tool.version} · database ${report.database.name} · PostgreSQL ${report.database.serverVersion}`),
    ...(report.migrations ? [c.dim(migrationsLine(report.migrations, report.durationMs))] : [
      c.dim(`statistics since ${report.database.statsResetAt ?? 'server start (never reset)'} · scanned in ${report.durationMs} ms`),
      c.dim(workloadLine(report.workload)),
    ]),
    ...baselineLines(report.baseline, c),
  ];
  for (const severity of SEVERITIES) {
    const findings = report.findings.filter((finding) => finding.severity === severity);
    if (findings.length === 0) continue;
    out.push('', paint[severity](`${severity.toUpperCase()} (${findings.length})`));
    for (const finding of findings) out.push(...renderFinding(finding, c, paint[severity]));
  }
  if (report.findings.length === 0) out.push('', c.green(report.baseline ? 'No new findings.' : 'No findings.'));
  if (report.skipped.length) {
    out.push('', c.bold('Skipped rules'));
    for (const skip of report.skipped) out.push(`  ${skip.rule}: ${skip.reason}`);
  }
  if (report.findings.length) out.push('', summaryTable(report));
  const { critical, warning, info } = report.summary;
  out.push('', c.bold(`Summary: ${critical} critical, ${warning} warning, ${info} info`));
  return `${out.join('\n')}\n`;
}

function renderFinding(finding: Finding, c: ChalkInstance, paint: ChalkInstance): string[] {
  const lines = ['', `${paint('●')} ${c.bold(finding.title)} ${c.dim(`[${finding.rule}]`)}`, `  ${finding.message}`];
  if (finding.location) lines.push(`  ${c.dim('at')} ${finding.location.file}:${finding.location.line}`);
  const evidence = Object.entries(finding.evidence).map(([key, value]) => `${c.dim(key)} ${formatValue(value)}`);
  if (evidence.length) lines.push(`  ${evidence.join(c.dim(' · '))}`);
  for (const action of finding.actions) {
    const label = action.kind === 'manual' ? 'manual' : `fix${action.lock ? `, lock ${action.lock}` : ''}`;
    lines.push(`  ${c.dim(`${label}:`)}`, indent(c.green(action.sql), '    '));
    if (action.undo) lines.push(`  ${c.dim('undo:')}`, indent(c.dim(action.undo), '    '));
  }
  return lines;
}

function baselineLines(baseline: Report['baseline'], c: ChalkInstance): string[] {
  if (!baseline) return [];
  return [baselineSentence(baseline), ...baseline.stale.map((entry) => `  stale: ${entryLabel(entry)}`)].map((line) => c.dim(line));
}

function migrationsLine(migrations: NonNullable<Report['migrations']>, durationMs: number): string {
  const deployed = migrations.deployed ? ` after ${migrations.deployed} deployed (applied, not checked)` : '';
  return `migrations: ${migrations.checked.length} checked${deployed} · in ${durationMs} ms`;
}

function workloadLine(workload: Report['workload']): string {
  if (workload.unavailable) return `workload: not analysed (${workload.unavailable})`;
  const window = workload.sampleSeconds === null ? 'since the last reset' : `over a ${Math.round(workload.sampleSeconds)} s sample`;
  const hidden = workload.hiddenStatements
    ? ` · ${workload.hiddenStatements} statements of other roles hidden (GRANT pg_read_all_stats to see them)` : '';
  const skipped = workload.utilityStatements + workload.unparseableStatements
    ? ` · skipped ${workload.utilityStatements} utility and ${workload.unparseableStatements} unparseable` : '';
  return `workload: ${workload.statements} statements from pg_stat_statements ${window}${skipped}${hidden}`;
}

function summaryTable(report: Report): string {
  const table = new Table({ head: ['rule', ...SEVERITIES], style: { head: [], border: [] } });
  const rules = [...new Set(report.findings.map((finding) => finding.rule))].sort();
  for (const rule of rules) {
    const counts = SEVERITIES.map((severity) => report.findings.filter((f) => f.rule === rule && f.severity === severity).length);
    table.push([rule, ...counts.map((count) => (count ? String(count) : ''))]);
  }
  return table.toString();
}

/** An evidence value for people: integers with thousands separators, fractions with two decimals. */
export function formatValue(value: string | number | boolean | null): string {
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(2);
  return String(value);
}

function indent(text: string, prefix: string): string {
  return text.split('\n').map((line) => prefix + line).join('\n');
}
