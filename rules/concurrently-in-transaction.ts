import { bodyOf, listOf } from '../src/advisor/parse-tree.js';
import { findingAt, hasOption, indexNamed, manualFix, resolvedTable, targetOn } from '../src/migrate/hazard.js';
import { terminated } from '../src/migrate/sql-source.js';
import { defineMigrationRule, type MigrationFindingDraft, type MigrationStatement } from '../src/rule.js';

export default defineMigrationRule({
  id: 'concurrently-in-transaction',
  title: 'CONCURRENTLY inside a transaction block',
  category: 'migrations',
  severity: 'critical',
  requires: [],
  options: {},
  docs: `
## What is wrong
\`CREATE INDEX CONCURRENTLY\`, \`DROP INDEX CONCURRENTLY\`, \`REINDEX … CONCURRENTLY\` or
\`ALTER TABLE … DETACH PARTITION … CONCURRENTLY\` inside a transaction block: after an
explicit BEGIN, or in the transaction a migration tool wraps each file in (goose and dbmate
do by default, as do Flyway and many ORMs).

## Why it hurts
It does not run at all. PostgreSQL refuses it with "CREATE INDEX CONCURRENTLY cannot run
inside a transaction block", the migration fails, and a deploy that was tested against an
empty database without the tool's transaction fails in production. A concurrent operation
commits several transactions of its own (build, wait for old snapshots, validate), which a
surrounding transaction cannot contain.

## How perfaudit detects it
The check server applies the file the way the migration tool would and reports, for each
statement, whether it ran inside a transaction block; any of the four statements above
with CONCURRENTLY there is a finding, whatever table it is on (it fails on a new table too).

## Fix
Move the statement into a migration of its own that runs outside a transaction:
- plain SQL and golang-migrate: no BEGIN / COMMIT around it;
- goose: \`-- +goose NO TRANSACTION\` at the top of the file;
- dbmate: \`-- migrate:up transaction:false\`;
- Flyway: \`executeInTransaction=false\` in the script's .conf file.
Keep one concurrent statement per migration: if it fails midway (a duplicate key for a
unique index, a lock_timeout), it leaves an INVALID index that must be dropped before
the migration is retried, which is simpler when nothing else in the file ran.

## Limits
Other statements that cannot run in a transaction block (VACUUM, REINDEX SCHEMA / DATABASE /
SYSTEM, CREATE DATABASE, ALTER SYSTEM) fail the same way but are not this rule's business.
Whether the tool wraps the file in a transaction is the check server's judgement from the
migration tool it was told about.
`,
  checkMigration(migration) {
    return migration.statements.filter((statement) => statement.inTransaction && concurrentKind(statement) !== null).map(finding);
  },
});

/** `CREATE INDEX CONCURRENTLY`, … for the four statements that take CONCURRENTLY; null for the rest. */
function concurrentKind(statement: MigrationStatement): string | null {
  const { kind, node } = statement;
  if (kind === 'IndexStmt' && node.concurrent === true) return 'CREATE INDEX CONCURRENTLY';
  if (kind === 'DropStmt' && node.removeType === 'OBJECT_INDEX' && node.concurrent === true) return 'DROP INDEX CONCURRENTLY';
  if (kind === 'ReindexStmt' && hasOption(node.params, 'concurrently')) return 'REINDEX CONCURRENTLY';
  const detach = kind === 'AlterTableStmt' && listOf(node.cmds)
    .some((cmd) => bodyOf(bodyOf(cmd, 'AlterTableCmd')?.def, 'PartitionCmd')?.concurrent === true);
  return detach ? 'DETACH PARTITION CONCURRENTLY' : null;
}

function finding(statement: MigrationStatement): MigrationFindingDraft {
  const what = concurrentKind(statement) ?? '';
  const index = indexNamed(statement);
  return findingAt(
    statement,
    targetOn(index ? 'index' : 'table', resolvedTable(statement), { name: index?.name ?? null }),
    `${what} runs inside a transaction block here, where PostgreSQL refuses it ("cannot run inside a transaction block"): the migration fails.`,
    manualFix([
      `-- ${what} cannot run inside a transaction block: give it a migration of its own that runs outside one`,
      '-- (plain SQL: no BEGIN/COMMIT; goose: -- +goose NO TRANSACTION; dbmate: -- migrate:up transaction:false; Flyway: executeInTransaction=false).',
      terminated(statement.text),
    ], null, false),
  );
}
