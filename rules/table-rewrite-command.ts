import { bodyOf, listOf } from '../src/advisor/parse-tree.js';
import { comment, existingTable, findingAt, hasOption, manualFix, rangeVarName, tableLabel, tableSql, targetOn, type TableName } from '../src/migrate/hazard.js';
import { quoteIdent } from '../src/plan/quote.js';
import { defineMigrationRule, target, type MigrationFindingDraft, type MigrationStatement } from '../src/rule.js';

export default defineMigrationRule({
  id: 'table-rewrite-command',
  title: 'VACUUM FULL or CLUSTER in a migration',
  category: 'migrations',
  severity: 'warning',
  requires: [],
  options: {},
  docs: `
## What is wrong
\`VACUUM FULL\` or \`CLUSTER\` on a table that existed before the migration (or, without a
table name, on every table they apply to).

## Why it hurts
Both write a complete new copy of the table and rebuild all its indexes while holding an
ACCESS EXCLUSIVE lock: no reads, no writes, for the whole rewrite. That is roughly a minute
per few GB of table plus its indexes, and it needs free disk for the full copy. In the
lock queue behind a long query, it blocks the table even before it starts.

## How perfaudit detects it
A VacuumStmt with the FULL option, and any ClusterStmt, whose table was not created earlier
in the same file. Plain VACUUM and ANALYZE (SHARE UPDATE EXCLUSIVE, online) are not findings.

## Fix
Instead of

    VACUUM FULL app.events;

use pg_repack (or pg_squeeze), which rewrites the table online and takes ACCESS EXCLUSIVE
only for a moment at the end, from a job rather than a migration:

    pg_repack --table=app.events

or, when the aim is to make dead space reusable rather than to shrink the file, a plain
\`VACUUM app.events;\`. For \`CLUSTER app.events USING events_created_idx\`, mark the index
(\`ALTER TABLE app.events CLUSTER ON events_created_idx\`, SHARE UPDATE EXCLUSIVE) and let
\`pg_repack --table=app.events\` order the copy by it.

## Limits
pg_repack needs its extension installed and a primary key or a unique index on NOT NULL
columns. A VACUUM FULL of several tables is judged by the first of them.
`,
  checkMigration(migration) {
    return migration.statements.filter((statement) => rewrites(statement) && (namesNoTable(statement) || existingTable(statement) !== null)).map(finding);
  },
});

// VACUUM FULL and CLUSTER without a table work on every table they apply to.
function namesNoTable({ kind, node }: MigrationStatement): boolean {
  return kind === 'ClusterStmt' ? node.relation === undefined : node.rels === undefined;
}

function rewrites(statement: MigrationStatement): boolean {
  return statement.kind === 'ClusterStmt'
    || (statement.kind === 'VacuumStmt' && statement.node.is_vacuumcmd === true && hasOption(statement.node.options, 'full'));
}

function finding(statement: MigrationStatement): MigrationFindingDraft {
  const tables = statement.kind === 'ClusterStmt'
    ? [rangeVarName(statement.node.relation)].filter((table) => table !== null)
    : listOf(statement.node.rels).flatMap((rel) => [rangeVarName(bodyOf(rel, 'VacuumRelation')?.relation)].filter((table) => table !== null));
  const first = existingTable(statement) ?? tables[0] ?? null;
  const command = statement.kind === 'ClusterStmt' ? 'CLUSTER' : 'VACUUM FULL';
  return findingAt(
    statement,
    first ? targetOn('table', first) : target('database', {}),
    `${command} ${first ? tableLabel(first) : '(every table)'} rewrites the table and its indexes under ACCESS EXCLUSIVE: no reads or writes until it ends; use pg_repack or plain VACUUM instead.`,
    manualFix(statement.kind === 'ClusterStmt' ? clusterFix(statement, first) : vacuumFix(tables), 'SHARE UPDATE EXCLUSIVE', false),
    { lock: 'ACCESS EXCLUSIVE' },
  );
}

function vacuumFix(tables: readonly TableName[]): string[] {
  return [
    '-- Rewrite online instead, from a job rather than a migration (needs the pg_repack extension):',
    ...(tables.length ? tables.map((table) => comment(`  pg_repack ${shellQuote(`--table=${tableSql(table)}`)}`)) : ['--   pg_repack --all']),
    '-- or, to make dead space reusable without shrinking the files:',
    `VACUUM${tables.length ? ` ${tables.map(tableSql).join(', ')}` : ''};`,
  ];
}

function clusterFix(statement: MigrationStatement, table: TableName | null): string[] {
  const index = statement.node.indexname;
  if (!table) return ['-- Re-cluster online instead, from a job rather than a migration: pg_repack --all (orders each table by its CLUSTER index).'];
  return [
    ...(typeof index === 'string' ? [`ALTER TABLE ${tableSql(table)} CLUSTER ON ${quoteIdent(index)};`] : []),
    '-- then, from a job rather than a migration, rewrite it online in that order (needs the pg_repack extension):',
    comment(`  pg_repack ${shellQuote(`--table=${tableSql(table)}`)}`),
  ];
}

/** A word for a POSIX shell: bare when it is safe, else single-quoted. */
function shellQuote(word: string): string {
  return /^[\w.=/-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
