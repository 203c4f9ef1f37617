import type { Analysis } from '../../src/analyze/engine.js';
import type { Severity } from '../../src/rule.js';

/** What a test asserts about a finding: where it is, how bad, and the exact fix SQL. */
export interface FindingSummary {
  readonly severity: Severity;
  readonly schema: string | null;
  readonly table: string | null;
  readonly name: string | null;
  readonly columns: readonly string[];
  readonly sql: readonly string[];
}

/** The findings of one rule, reduced to what tests compare exactly, in a stable order. */
export function findingsOf(analysis: Analysis, rule: string): FindingSummary[] {
  return analysis.findings
    .filter((finding) => finding.rule === rule)
    .map((finding) => ({
      severity: finding.severity,
      schema: finding.target.schema,
      table: finding.target.table,
      name: finding.target.name,
      columns: finding.target.columns,
      sql: finding.actions.map((action) => action.sql),
    }))
    .sort((a, b) => `${a.schema}.${a.table}.${a.name}`.localeCompare(`${b.schema}.${b.table}.${b.name}`));
}
