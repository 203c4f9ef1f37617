import { alterTable, columnConstraints, removal } from '../src/migrate/alter-table.js';
import { columnNames, comment, existingTable, findingAt, manualFix, tableLabel, targetOn, type TableName } from '../src/migrate/hazard.js';
import { concurrentIndex, keyConstraint, partitionedConstraint, prebuiltConstraint, type KeyConstraint } from '../src/migrate/index-build.js';
import { terminated } from '../src/migrate/sql-source.js';
import { defineMigrationRule, type MigrationFindingDraft, type MigrationStatement } from '../src/rule.js';

export default defineMigrationRule({
  id: 'non-concurrent-index-build',
  title: 'Index built while blocking writes',
  category: 'migrations',
  severity: 'warning',
  requires: [],
  options: {},
  docs: `
## What is wrong
\`CREATE INDEX\` without \`CONCURRENTLY\` on a table that existed before the migration, and
\`ALTER TABLE … ADD PRIMARY KEY / UNIQUE / EXCLUDE\` (or \`ADD COLUMN … PRIMARY KEY / UNIQUE\`)
without \`USING INDEX\`, which builds the index inside the ALTER.

## Why it hurts
CREATE INDEX holds a SHARE lock for the whole build: reads go on, but every INSERT, UPDATE
and DELETE waits. A btree build sorts the whole table, roughly a minute per few GB (much
longer with a small maintenance_work_mem), so a 50 GB table is an outage of writes for a
quarter of an hour or more. Inside ALTER TABLE the build holds ACCESS EXCLUSIVE instead:
reads stop too. \`CREATE INDEX CONCURRENTLY\` takes SHARE UPDATE EXCLUSIVE, which lets reads
and writes through, at the price of two table scans and waiting for older transactions.

## How perfaudit detects it
IndexStmt without CONCURRENTLY, and PRIMARY KEY / UNIQUE / EXCLUDE constraints added by
ALTER TABLE without USING INDEX, on tables the check server resolved as existing before
the file. Tables created earlier in the same file are exempt (nothing reads or writes them
yet), and so is \`CREATE INDEX … ON ONLY\` a partitioned table, which builds nothing.

## Fix
Instead of

    CREATE INDEX orders_status_idx ON app.orders (status);

use

    CREATE INDEX CONCURRENTLY orders_status_idx ON app.orders (status);

and instead of \`ALTER TABLE app.orders ADD CONSTRAINT orders_code_key UNIQUE (code)\` use

    CREATE UNIQUE INDEX CONCURRENTLY orders_code_key ON app.orders (code);
    ALTER TABLE app.orders ADD CONSTRAINT orders_code_key UNIQUE USING INDEX orders_code_key;

(a PRIMARY KEY the same way, once its columns are NOT NULL: see set-not-null-scan).
CONCURRENTLY cannot run in a transaction block (see concurrently-in-transaction); a failed
build leaves an INVALID index to drop before retrying.

A partitioned table refuses CONCURRENTLY and USING INDEX. For an index: \`CREATE INDEX …
ON ONLY\` the parent (instant), \`CREATE INDEX CONCURRENTLY\` on each partition, and
\`ALTER INDEX … ATTACH PARTITION\` each; the parent index becomes valid when all are
attached. For a constraint: build each partition's unique index concurrently, make it the
partition's constraint with USING INDEX, then the parent's ADD CONSTRAINT adopts them.

## Limits
An exclusion constraint cannot be added over an existing index at all: it is reported, but
the only advice is a quiet moment and a lock_timeout. The partition steps are a template:
the check server does not list partitions.
`,
  checkMigration(migration) {
    return migration.statements.flatMap((statement) =>
      statement.kind === 'IndexStmt' ? indexFindings(statement) : constraintFindings(statement));
  },
});

function indexFindings(statement: MigrationStatement): MigrationFindingDraft[] {
  const { node } = statement;
  const table = existingTable(statement);
  const partitioned = statement.target?.partitioned === true;
  const parentOnly = node.relation !== undefined && (node.relation as { inh?: boolean }).inh !== true;
  if (node.concurrent === true || !table || (partitioned && parentOnly)) return [];
  const name = typeof node.idxname === 'string' ? node.idxname : null;
  return [findingAt(
    statement,
    targetOn('index', table, { name, columns: columnNames(node.indexParams) }),
    `CREATE INDEX${name === null ? '' : ` ${name}`} holds SHARE on ${tableLabel(table)} for the whole build: every INSERT, UPDATE and DELETE waits; build it CONCURRENTLY.`,
    manualFix(concurrentIndex(statement, table, partitioned), 'SHARE UPDATE EXCLUSIVE', false),
    { lock: 'SHARE' },
  )];
}

function constraintFindings(statement: MigrationStatement): MigrationFindingDraft[] {
  const table = alterTable(statement);
  const name = existingTable(statement);
  if (!table || !name) return [];
  return table.commands.flatMap((command) => {
    const constraint = command.constraint;
    if (command.subtype === 'AT_AddConstraint' && constraint && typeof constraint.indexname !== 'string') {
      if (constraint.contype === 'CONSTR_EXCLUSION') return [exclusionFinding(statement, name, constraint.conname)];
      if (constraint.contype !== 'CONSTR_PRIMARY' && constraint.contype !== 'CONSTR_UNIQUE') return [];
      const key = keyConstraint(constraint, name, columnNames(constraint.keys), { source: table.source, ...command });
      return [keyFinding(statement, name, key, table.without([command]))];
    }
    if (command.subtype !== 'AT_AddColumn') return [];
    const column = String(command.columnDef?.colname);
    return columnConstraints(table, command)
      .filter((inline) => inline.type === 'CONSTR_PRIMARY' || inline.type === 'CONSTR_UNIQUE')
      .map((inline) => {
        const key = keyConstraint(inline.node, name, [column], { source: table.source, ...inline }, inline.attributes);
        return keyFinding(statement, name, key, table.source.edit([removal(table, inline)]));
      });
  });
}

// `rest` is the statement without the constraint (null when nothing else was in it).
function keyFinding(statement: MigrationStatement, name: TableName, key: KeyConstraint, rest: string | null): MigrationFindingDraft {
  const kind = key.primary ? 'PRIMARY KEY' : 'UNIQUE';
  const fix = statement.target?.partitioned === true
    ? partitionedConstraint(name, key, terminated(statement.text))
    : [...(rest === null ? [] : [`${rest};`]), ...prebuiltConstraint(name, key, nullableKeys(statement, key))];
  return findingAt(
    statement,
    targetOn('constraint', name, { name: typeof key.node.conname === 'string' ? key.node.conname : null, columns: key.keys }),
    `ADD ${kind} (${key.keys.join(', ')}) builds its index inside ALTER TABLE, holding ACCESS EXCLUSIVE on ${tableLabel(name)} (no reads or writes) for the whole build; build the index CONCURRENTLY first and add the constraint USING INDEX.`,
    manualFix(fix, 'SHARE UPDATE EXCLUSIVE', false),
    { lock: 'ACCESS EXCLUSIVE' },
  );
}

// Key columns not known to be NOT NULL (all of them when no existing table was resolved).
function nullableKeys(statement: MigrationStatement, key: KeyConstraint): string[] {
  const target = statement.target;
  if (!target) return [...key.keys];
  return key.keys.filter((column) => !target.notNull.includes(column) && !target.notNullChecked.includes(column));
}

function exclusionFinding(statement: MigrationStatement, name: TableName, conname: unknown): MigrationFindingDraft {
  return findingAt(
    statement,
    targetOn('constraint', name, { name: typeof conname === 'string' ? conname : null }),
    `ADD EXCLUDE builds its index inside ALTER TABLE, holding ACCESS EXCLUSIVE on ${tableLabel(name)} (no reads or writes) for the whole build, and PostgreSQL has no online form.`,
    manualFix([
      '-- An exclusion constraint cannot be added over an index built beforehand (USING INDEX takes PRIMARY KEY and UNIQUE only):',
      comment(`run this when ${tableLabel(name)} is quiet, in a migration of its own with a lock_timeout, and expect no reads or writes for the build.`),
    ], 'ACCESS EXCLUSIVE', true),
    { lock: 'ACCESS EXCLUSIVE' },
  );
}
