import { parseStatements } from '../../src/parse/statements.js';
import type { Migration, MigrationRuleDefinition, MigrationStatement, MigrationTable, Severity, Target } from '../../src/rule.js';

/** What the check server observed for one statement; a test states it, the rest defaults to nothing observed. */
export type Observed = Partial<Pick<MigrationStatement, 'inTransaction' | 'lockTimeoutSet' | 'target'>>;

/** A table as the server resolved it: existing (not created in this file), plain, not rewritten. */
export function table(schema: string, name: string, facts: Partial<MigrationTable> = {}): MigrationTable {
  return { schema, name, partitioned: false, newInFile: false, rewritten: false, notNull: [], notNullChecked: [], ...facts };
}

/** A migration parsed from `sql`, with `observed[i]` as the facts of its i-th statement. */
export async function migration(sql: string, ...observed: Observed[]): Promise<Migration> {
  const statements = await parseStatements(sql);
  return {
    file: 'migration.sql',
    statements: statements.map((statement, index): MigrationStatement => ({
      line: statement.line,
      text: statement.text,
      kind: statement.kind,
      node: statement.node,
      inTransaction: false,
      lockTimeoutSet: false,
      target: null,
      ...observed[index],
    })),
  };
}

/** What tests compare exactly: where, how bad, about what, and the fix SQL. */
export interface MigrationFindingSummary {
  readonly line: number;
  readonly severity: Severity;
  readonly target: Target;
  readonly sql: readonly string[];
}

/** Runs a migration rule with its default options. */
export function check(rule: MigrationRuleDefinition, checked: Migration): MigrationFindingSummary[] {
  return rule.checkMigration(checked, rule.options).map((finding) => ({
    line: finding.line,
    severity: finding.severity ?? rule.severity,
    target: finding.target,
    sql: finding.actions.map((action) => action.sql),
  }));
}

/** The SQL of a one-statement migration's findings, for tests that only look at the fix. */
export async function fixOf(rule: MigrationRuleDefinition, sql: string, observed: Observed): Promise<readonly string[]> {
  return check(rule, await migration(sql, observed)).flatMap((finding) => finding.sql);
}
