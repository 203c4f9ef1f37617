import { type Node } from '../src/advisor/parse-tree.js';
import { alterTable, columnConstraints, constraintBody, removal, withNotValid, type AlterCommand, type AlterTable, type ColumnConstraint } from '../src/migrate/alter-table.js';
import { columnNames, existingTable, findingAt, manualFix, objectName, rangeVarName, referencedColumns, tableLabel, tableSql, targetOn, type TableName } from '../src/migrate/hazard.js';
import { quoteIdent } from '../src/plan/quote.js';
import { defineMigrationRule, type MigrationFindingDraft, type MigrationStatement } from '../src/rule.js';

export default defineMigrationRule({
  id: 'constraint-without-not-valid',
  title: 'Foreign key or CHECK constraint validated while locking',
  category: 'migrations',
  severity: 'warning',
  requires: [],
  options: {},
  docs: `
## What is wrong
\`ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY\` or \`… CHECK\` without \`NOT VALID\` on a table
that existed before the migration, and the same constraints written into an \`ADD COLUMN\`
when PostgreSQL has to check existing rows against them.

## Why it hurts
Adding the constraint checks every existing row before the statement returns, while
holding its lock. A CHECK holds ACCESS EXCLUSIVE on the table: no reads or writes during a
full scan, about a second per GB and far more on a cold cache. A foreign key holds SHARE ROW
EXCLUSIVE on both the table and the referenced table, so writes to both stop while every
row is looked up in the referenced table. With \`NOT VALID\` the constraint is added in
milliseconds and enforced for new rows at once; \`VALIDATE CONSTRAINT\` later checks the old
rows under SHARE UPDATE EXCLUSIVE, which lets reads and writes through (a foreign key's
validation takes only ROW SHARE on the referenced table).

## How perfaudit detects it
ADD CONSTRAINT of a FOREIGN KEY or CHECK that is neither NOT VALID nor NOT ENFORCED, on a
table not created earlier in the same file. In ADD COLUMN: a CHECK always (PostgreSQL
evaluates it for every row), a REFERENCES only when the column has a DEFAULT (a new column
that is all NULL skips the foreign-key check, so \`ADD COLUMN customer_id bigint
REFERENCES customers\` is fine).

## Fix
Instead of

    ALTER TABLE app.orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES app.customers (id);

use

    ALTER TABLE app.orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES app.customers (id) NOT VALID;
    -- in a separate transaction, ideally a later migration:
    ALTER TABLE app.orders VALIDATE CONSTRAINT orders_customer_fk;

VALIDATE in the same transaction as the ADD would keep the ADD's lock until commit and
gain nothing. An unnamed constraint gets an explicit name in the fix so VALIDATE can name it.

## Limits
Rows that violate the constraint make VALIDATE fail; new rows are checked from the ADD on.
Unique, primary-key and exclusion constraints are non-concurrent-index-build's business,
NOT NULL constraints set-not-null-scan's.
`,
  checkMigration(migration) {
    return migration.statements.flatMap(findings);
  },
});

const VALIDATED = new Set(['CONSTR_FOREIGN', 'CONSTR_CHECK']);

function findings(statement: MigrationStatement): MigrationFindingDraft[] {
  const table = alterTable(statement);
  const name = existingTable(statement);
  if (!table || !name) return [];
  return table.commands.flatMap((command) => {
    if (command.subtype === 'AT_AddConstraint' && command.constraint && isValidated(command.constraint)) {
      return [addConstraintFinding(statement, table, command, command.constraint, name)];
    }
    if (command.subtype !== 'AT_AddColumn') return [];
    const constraints = columnConstraints(table, command);
    const hasDefault = constraints.some((constraint) => constraint.type === 'CONSTR_DEFAULT');
    return constraints
      .filter((constraint) => constraint.type === 'CONSTR_CHECK' || (constraint.type === 'CONSTR_FOREIGN' && hasDefault))
      .map((constraint) => columnConstraintFinding(statement, table, command, constraint, name));
  });
}

function isValidated(constraint: Node): boolean {
  return VALIDATED.has(String(constraint.contype)) && constraint.skip_validation !== true;
}

function addConstraintFinding(statement: MigrationStatement, table: AlterTable, command: AlterCommand, constraint: Node, name: TableName): MigrationFindingDraft {
  const columns = constraint.contype === 'CONSTR_FOREIGN' ? columnNames(constraint.fk_attrs) : referencedColumns(constraint.raw_expr);
  const conname = typeof constraint.conname === 'string' ? constraint.conname : null;
  const chosen = conname ?? defaultName(name, constraint, columns);
  return finding(statement, name, constraint, columns, conname, withNotValid(table, command, conname === null ? chosen : null), chosen);
}

function columnConstraintFinding(statement: MigrationStatement, table: AlterTable, command: AlterCommand, constraint: ColumnConstraint, name: TableName): MigrationFindingDraft {
  const column = String(command.columnDef?.colname);
  const conname = typeof constraint.node.conname === 'string' ? constraint.node.conname : null;
  const chosen = conname ?? defaultName(name, constraint.node, [column]);
  const definition = (constraint.type === 'CONSTR_FOREIGN' ? `FOREIGN KEY (${quoteIdent(column)}) ` : '') + constraintBody(table, constraint);
  const sql = table.source.edit([
    removal(table, constraint),
    { start: command.end, end: command.end, text: `, ADD CONSTRAINT ${quoteIdent(chosen)} ${definition} NOT VALID` },
  ]);
  return finding(statement, name, constraint.node, [column], conname, sql, chosen);
}

function finding(statement: MigrationStatement, name: TableName, constraint: Node, columns: readonly string[], conname: string | null, added: string, chosen: string): MigrationFindingDraft {
  const foreign = constraint.contype === 'CONSTR_FOREIGN';
  const referenced = rangeVarName(constraint.pktable);
  const kind = foreign ? 'FOREIGN KEY' : 'CHECK';
  const locks = foreign
    ? `SHARE ROW EXCLUSIVE on ${tableLabel(name)} and ${tableLabel(referenced)} (no writes to either)`
    : `ACCESS EXCLUSIVE on ${tableLabel(name)} (no reads or writes)`;
  return findingAt(
    statement,
    targetOn('constraint', name, { name: conname, columns }),
    `${kind} ${conname ?? `(${columns.join(', ')})`} checks every existing row of ${tableLabel(name)} while holding ${locks}; add it NOT VALID and VALIDATE it separately.`,
    manualFix([
      `${added};`,
      '-- in a separate transaction, ideally a later migration (SHARE UPDATE EXCLUSIVE: reads and writes go on):',
      `ALTER TABLE ${tableSql(name)} VALIDATE CONSTRAINT ${quoteIdent(chosen)};`,
    ], foreign ? 'SHARE ROW EXCLUSIVE' : 'ACCESS EXCLUSIVE', false),
    { lock: foreign ? 'SHARE ROW EXCLUSIVE' : 'ACCESS EXCLUSIVE' },
  );
}

// PostgreSQL's own choice: {table}_{columns}_fkey, {table}_{column}_check for a CHECK on one column, else {table}_check.
function defaultName(name: TableName, constraint: Node, columns: readonly string[]): string {
  if (constraint.contype === 'CONSTR_FOREIGN') return objectName(name.name, columns, 'fkey');
  return objectName(name.name, columns.length === 1 ? columns : [], 'check');
}
