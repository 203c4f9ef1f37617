import { alterTable, withNotValid, type AlterCommand, type AlterTable } from '../src/migrate/alter-table.js';
import { columnNames, existingTable, findingAt, manualFix, objectName, tableLabel, tableSql, targetOn, type TableName } from '../src/migrate/hazard.js';
import { terminated } from '../src/migrate/sql-source.js';
import { quoteIdent } from '../src/plan/quote.js';
import { defineMigrationRule, type MigrationFindingDraft, type MigrationStatement } from '../src/rule.js';

export default defineMigrationRule({
  id: 'set-not-null-scan',
  title: 'SET NOT NULL scans the table under ACCESS EXCLUSIVE',
  category: 'migrations',
  severity: 'warning',
  requires: [],
  options: {},
  docs: `
## What is wrong
\`ALTER TABLE … ALTER COLUMN … SET NOT NULL\` (or PostgreSQL 18's \`ADD CONSTRAINT … NOT NULL
column\` without NOT VALID) on a table that existed before the migration, when nothing
already proves the column has no NULLs.

## Why it hurts
PostgreSQL reads every row to make sure none is NULL, holding ACCESS EXCLUSIVE the whole
time: no reads, no writes, about a second per GB of table when it is cached and much more
when it is not. The scan is skipped when a validated \`CHECK (column IS NOT NULL)\` constraint
exists (PostgreSQL 12+), and that CHECK can be added without a scan and validated under
SHARE UPDATE EXCLUSIVE, which lets reads and writes through.

## How perfaudit detects it
The check server reports, for the table, the columns with a validated not-null constraint
and those with a validated \`CHECK (column IS NOT NULL)\` before the statement ran. SET NOT
NULL on any other column of a table not created earlier in the file is a finding. On
PostgreSQL 18 a \`NOT NULL … NOT VALID\` constraint does not count: SET NOT NULL validates
it with a full scan.

## Fix
Instead of

    ALTER TABLE app.orders ALTER COLUMN status SET NOT NULL;

use

    ALTER TABLE app.orders ADD CONSTRAINT orders_status_not_null_check CHECK (status IS NOT NULL) NOT VALID;
    -- in a separate transaction:
    ALTER TABLE app.orders VALIDATE CONSTRAINT orders_status_not_null_check;
    ALTER TABLE app.orders ALTER COLUMN status SET NOT NULL;
    ALTER TABLE app.orders DROP CONSTRAINT orders_status_not_null_check;

On PostgreSQL 18 the two steps can be a NOT NULL constraint directly:
\`ADD CONSTRAINT orders_status_not_null NOT NULL status NOT VALID\`, then
\`VALIDATE CONSTRAINT orders_status_not_null\`.

## Limits
Rows with NULLs make VALIDATE fail: backfill them first, in batches. The implicit SET NOT
NULL of \`ADD PRIMARY KEY\` is covered by non-concurrent-index-build's fix.
`,
  checkMigration(migration) {
    return migration.statements.flatMap(findings);
  },
});

function findings(statement: MigrationStatement): MigrationFindingDraft[] {
  const table = alterTable(statement);
  const name = existingTable(statement);
  if (!table || !name) return [];
  const proven = new Set([...(statement.target?.notNull ?? []), ...(statement.target?.notNullChecked ?? [])]);
  return table.commands.flatMap((command) => {
    if (command.subtype === 'AT_SetNotNull' && command.column !== null && !proven.has(command.column)) {
      return [checkFirst(statement, name, command.column)];
    }
    const constraint = command.constraint;
    if (command.subtype !== 'AT_AddConstraint' || constraint?.contype !== 'CONSTR_NOTNULL' || constraint.skip_validation === true) return [];
    return [notValidFirst(statement, table, command, name, columnNames(constraint.keys)[0] ?? '', constraint.conname)];
  });
}

function checkFirst(statement: MigrationStatement, name: TableName, column: string): MigrationFindingDraft {
  const check = quoteIdent(objectName(name.name, [column], 'not_null_check'));
  const table = tableSql(name);
  return finding(statement, name, column, [
    `ALTER TABLE ${table} ADD CONSTRAINT ${check} CHECK (${quoteIdent(column)} IS NOT NULL) NOT VALID;`,
    '-- in a separate transaction (SHARE UPDATE EXCLUSIVE: reads and writes go on):',
    `ALTER TABLE ${table} VALIDATE CONSTRAINT ${check};`,
    '-- the validated CHECK lets SET NOT NULL skip its scan:',
    terminated(statement.text),
    `ALTER TABLE ${table} DROP CONSTRAINT ${check};`,
  ]);
}

// PostgreSQL 18's NOT NULL table constraint: the same statement NOT VALID, then VALIDATE.
function notValidFirst(statement: MigrationStatement, table: AlterTable, command: AlterCommand, name: TableName, column: string, conname: unknown): MigrationFindingDraft {
  const chosen = typeof conname === 'string' ? conname : objectName(name.name, [column], 'not_null');
  return finding(statement, name, column, [
    `${withNotValid(table, command, typeof conname === 'string' ? null : chosen)};`,
    '-- in a separate transaction:',
    `ALTER TABLE ${tableSql(name)} VALIDATE CONSTRAINT ${quoteIdent(chosen)};`,
  ]);
}

function finding(statement: MigrationStatement, name: TableName, column: string, lines: readonly string[]): MigrationFindingDraft {
  return findingAt(
    statement,
    targetOn('table', name, { columns: [column] }),
    `Making ${tableLabel(name)}.${column} NOT NULL reads the whole table under ACCESS EXCLUSIVE (no reads or writes) to look for NULLs; prove it with a constraint validated separately first.`,
    manualFix(lines, 'ACCESS EXCLUSIVE', false),
    { lock: 'ACCESS EXCLUSIVE' },
  );
}
