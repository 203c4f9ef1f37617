import type { Analysis, Skipped } from '../analyze/engine.js';
import { statementShape } from '../collect/statement-shape.js';
import type { Finding, Severity, Snapshot } from '../rule.js';
import { applyBaseline, type Baseline, type BaselineScope, type BaselineSummary } from './baseline.js';

/** The JSON report (contract: `schemaVersion: 1`, see docs/json-report.md). */
export interface Report {
  readonly schemaVersion: 1;
  readonly tool: { readonly name: 'perfaudit'; readonly version: string };
  readonly database: { readonly name: string; readonly serverVersion: string; readonly statsResetAt: string | null };
  readonly startedAt: string;
  readonly durationMs: number;
  readonly summary: Readonly<Record<Severity, number>>;
  /** What the workload rules saw: pg_stat_statements entries read, hidden ones, the --sample window. */
  readonly workload: {
    readonly statements: number;
    readonly hiddenStatements: number;
    /** Statements the workload rules skip: utility statements, and texts the parser rejects. */
    readonly utilityStatements: number;
    readonly unparseableStatements: number;
    readonly sampleSeconds: number | null;
    readonly unavailable: string | null;
  };
  readonly findings: readonly Finding[];
  readonly skipped: readonly Skipped[];
  /** With `--baseline`: findings and summary are the new findings only; this says what was left out. */
  readonly baseline?: BaselineSummary;
  /** check-migrations: the migration files checked, and how many deployed ones were applied unchecked before them. */
  readonly migrations?: { readonly checked: readonly string[]; readonly deployed: number };
}

export const TOOL_VERSION = '0.1.0';

export function buildReport(snapshot: Snapshot, analysis: Analysis, timing: { startedAt: Date; durationMs: number }): Report {
  return {
    schemaVersion: 1,
    tool: { name: 'perfaudit', version: TOOL_VERSION },
    database: {
      name: snapshot.server.database,
      serverVersion: snapshot.server.version,
      statsResetAt: snapshot.server.statsResetAt,
    },
    startedAt: timing.startedAt.toISOString(),
    durationMs: timing.durationMs,
    summary: summarize(analysis.findings),
    workload: {
      statements: snapshot.workload.statements.length,
      hiddenStatements: snapshot.workload.hiddenStatements,
      ...skippedStatements(snapshot),
      sampleSeconds: snapshot.workload.sampleSeconds,
      unavailable: snapshot.workload.unavailable,
    },
    findings: analysis.findings,
    skipped: analysis.skipped,
  };
}

/** The report of the findings a baseline does not know, with its `baseline` block. */
export function withBaseline(report: Report, baseline: Baseline, scope: BaselineScope): Report {
  const { findings, summary } = applyBaseline(report.findings, baseline, scope);
  return { ...report, summary: summarize(findings), findings, baseline: summary };
}

/** Findings counted by severity. */
export function summarize(findings: readonly Finding[]): Record<Severity, number> {
  const summary = { critical: 0, warning: 0, info: 0 };
  for (const finding of findings) summary[finding.severity]++;
  return summary;
}

// Counted with the real parser (loaded with the rules) so a report says what the
// workload rules could not read, even when they found nothing.
function skippedStatements(snapshot: Snapshot): { utilityStatements: number; unparseableStatements: number } {
  let utilityStatements = 0;
  let unparseableStatements = 0;
  for (const statement of snapshot.workload.statements) {
    const shape = statementShape(statement.query);
    if (shape === null) unparseableStatements++;
    else if (shape.utility) utilityStatements++;
  }
  return { utilityStatements, unparseableStatements };
}
