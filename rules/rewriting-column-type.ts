import { alterTable, type AlterCommand, type AlterTable } from '../src/migrate/alter-table.js';
import { comment, existingTable, findingAt, manualFix, objectName, tableLabel, tableSql, targetOn, type TableName } from '../src/migrate/hazard.js';
import { quoteIdent } from '../src/plan/quote.js';
import { defineMigrationRule, type MigrationFindingDraft, type MigrationStatement } from '../src/rule.js';

export default defineMigrationRule({
  id: 'rewriting-column-type',
  title: 'Column type change that rewrites the table',
  category: 'migrations',
  severity: 'warning',
  requires: [],
  options: {},
  docs: `
## What is wrong
\`ALTER TABLE … ALTER COLUMN … TYPE\` that made PostgreSQL rewrite a table that existed
before the migration: \`integer\` → \`bigint\`, \`text\` → \`varchar(n)\`, a shorter varchar,
a USING expression that computes new values (\`USING amount * 100\`).

## Why it hurts
A rewrite copies every row into a new file and rebuilds every index of the table while
holding ACCESS EXCLUSIVE: no reads and no writes, roughly a minute per few GB of table and
indexes, plus disk and WAL for the whole copy (replicas lag behind by as much). The
classic case, an \`integer\` primary key running out of numbers, is also the largest table.

## How perfaudit detects it
The check server compares the table's relfilenode before and after the statement; only a
changed one is a finding. Type changes PostgreSQL does in the catalog alone are not:
\`varchar(10)\` → \`varchar(20)\`, \`varchar\` → \`text\`, \`numeric(10,2)\` → \`numeric(12,2)\`,
and \`timestamp\` → \`timestamptz\` when the session time zone is UTC.

## Fix
Instead of

    ALTER TABLE app.orders ALTER COLUMN amount TYPE bigint;

migrate the column online:

    ALTER TABLE app.orders ADD COLUMN amount_new bigint;
    -- a trigger keeps amount_new = amount for new and updated rows;
    -- backfill existing rows in batches: UPDATE … SET amount_new = amount WHERE … (a key range);
    -- then, in one short transaction with a lock_timeout, drop the trigger and swap the names
    -- (RENAME COLUMN amount TO amount_old, amount_new TO amount), moving defaults, constraints
    -- and indexes over (built CONCURRENTLY beforehand; a primary key via ADD PRIMARY KEY USING INDEX).

## Limits
The time zone exception depends on the check server's TimeZone setting, which may differ
from production's. A statement that both changes a type and adds a rewriting column is
reported by this rule and volatile-column-default alike. A change that rebuilds indexes
without rewriting the table (a new collation) is not reported.
`,
  checkMigration(migration) {
    return migration.statements
      .filter((statement) => statement.target?.rewritten === true)
      .flatMap(finding);
  },
});

function finding(statement: MigrationStatement): MigrationFindingDraft[] {
  const table = alterTable(statement);
  const name = existingTable(statement);
  const changes = table?.commands.filter((command) => command.subtype === 'AT_AlterColumnType' && command.column !== null) ?? [];
  if (!table || !name || !changes.length) return [];
  const columns = changes.map((command) => command.column ?? '');
  return [findingAt(
    statement,
    targetOn('table', name, { columns }),
    `ALTER COLUMN ${columns.join(', ')} TYPE rewrote ${tableLabel(name)} and its indexes under ACCESS EXCLUSIVE: no reads or writes until the copy is done.`,
    manualFix(changes.flatMap((command) => onlineChange(table, command, name)), 'ACCESS EXCLUSIVE', true),
    { lock: 'ACCESS EXCLUSIVE' },
  )];
}

// A new column of the new type, kept in step and backfilled, then swapped in.
function onlineChange(table: AlterTable, command: AlterCommand, name: TableName): string[] {
  const column = command.column ?? '';
  const fresh = quoteIdent(objectName(column, [], 'new'));
  const old = quoteIdent(objectName(column, [], 'old'));
  const { type, using } = typeChange(table, command);
  const value = using ?? quoteIdent(column);
  const alter = `ALTER TABLE ${tableSql(name)}`;
  return [
    `${alter} ADD COLUMN ${fresh} ${type};`,
    comment(`keep ${fresh} = ${value} for new and updated rows with a BEFORE INSERT OR UPDATE trigger, then backfill in batches:`),
    comment(`  UPDATE ${tableSql(name)} SET ${fresh} = ${value} WHERE ${fresh} IS NULL AND <key range>;`),
    '-- then, in one short transaction with a lock_timeout: drop the trigger, move defaults, constraints and indexes over, and swap:',
    comment(`  ${alter} RENAME COLUMN ${quoteIdent(column)} TO ${old};`),
    comment(`  ${alter} RENAME COLUMN ${fresh} TO ${quoteIdent(column)};`),
  ];
}

// `ALTER [COLUMN] c [SET DATA] TYPE <type> [COLLATE …] [USING <expression>]`, by token positions.
function typeChange(table: AlterTable, command: AlterCommand): { type: string; using: string | null } {
  const tokens = table.source.tokens.filter((token) => token.start >= command.start && token.end <= command.end && token.depth === 0);
  const typeKeyword = tokens.find((token) => token.keyword === 'TYPE');
  const usingKeyword = tokens.find((token) => token.keyword === 'USING');
  const next = (keyword: typeof typeKeyword) => tokens[tokens.indexOf(keyword!) + 1]?.start ?? command.end;
  const typeEnd = usingKeyword ? tokens[tokens.indexOf(usingKeyword) - 1]?.end ?? command.end : command.end;
  return {
    type: table.source.slice(next(typeKeyword), typeEnd),
    using: usingKeyword ? table.source.slice(next(usingKeyword), command.end) : null,
  };
}
