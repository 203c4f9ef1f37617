import { listOf, strings } from '../src/advisor/parse-tree.js';
import { existingTable, findingAt, indexNamed, manualFix, namesSql, tableLabel, targetOn } from '../src/migrate/hazard.js';
import { defineMigrationRule, type MigrationFindingDraft, type MigrationStatement } from '../src/rule.js';

export default defineMigrationRule({
  id: 'non-concurrent-index-drop',
  title: 'Index dropped without CONCURRENTLY',
  category: 'migrations',
  severity: 'warning',
  requires: [],
  options: {},
  docs: `
## What is wrong
\`DROP INDEX\` without \`CONCURRENTLY\` on a table that existed before the migration.

## Why it hurts
A plain DROP INDEX takes an ACCESS EXCLUSIVE lock on the index's table. The drop itself
takes milliseconds, but the lock must first wait for every transaction that has touched the
table to finish, and while it waits it sits in the lock queue ahead of every later query
on the table, reads included. One 30-second report query in flight turns the "instant"
drop into a 30-second outage of the table. \`DROP INDEX CONCURRENTLY\` takes SHARE UPDATE
EXCLUSIVE instead, which blocks neither reads nor writes, and waits for the transactions
using the index on its own.

## How perfaudit detects it
A DropStmt of indexes without CONCURRENTLY whose table the check server resolved as
existing before the migration file (indexes of tables created earlier in the same file
are exempt: nothing uses them yet).

## Fix
Instead of

    DROP INDEX app.orders_status_idx;

use

    DROP INDEX CONCURRENTLY app.orders_status_idx;

one index per statement (CONCURRENTLY drops a single index), outside a transaction block
(see concurrently-in-transaction). CONCURRENTLY refuses CASCADE: drop dependent objects first.
A failed concurrent drop can leave the index INVALID; run the drop again.

## Limits
An index on a partitioned table cannot be dropped concurrently; such drops are not
reported (there is no online alternative), but they still wait in the lock queue:
give them a lock_timeout (missing-lock-timeout). A statement dropping several indexes is
judged by the table of the first.
`,
  checkMigration(migration) {
    return migration.statements.filter(isPlainIndexDrop).map(finding);
  },
});

function isPlainIndexDrop(statement: MigrationStatement): boolean {
  const { node } = statement;
  return statement.kind === 'DropStmt' && node.removeType === 'OBJECT_INDEX' && node.concurrent !== true
    && existingTable(statement) !== null && statement.target?.partitioned !== true;
}

function finding(statement: MigrationStatement): MigrationFindingDraft {
  const indexes = listOf(statement.node.objects).map(strings);
  const ifExists = statement.node.missing_ok === true ? 'IF EXISTS ' : '';
  const lines = indexes.map((names) => `DROP INDEX CONCURRENTLY ${ifExists}${namesSql(names)};`);
  if (statement.node.behavior === 'DROP_CASCADE') lines.unshift('-- CONCURRENTLY refuses CASCADE: drop the objects that depend on the index first.');
  const table = existingTable(statement);
  const index = indexNamed(statement);
  return findingAt(
    statement,
    targetOn('index', table, { name: index?.name ?? null }),
    `DROP INDEX ${tableLabel(index)} takes ACCESS EXCLUSIVE on ${tableLabel(table)}, queuing every read and write behind the slowest running query; drop it CONCURRENTLY.`,
    manualFix(lines, 'SHARE UPDATE EXCLUSIVE', false),
    { lock: 'ACCESS EXCLUSIVE' },
  );
}
