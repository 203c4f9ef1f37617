import { comment, findingAt, manualFix, resolvedTable, tableLabel, targetOn } from '../src/migrate/hazard.js';
import { writeBlockingLock } from '../src/migrate/locks.js';
import { quoteLiteral } from '../src/plan/quote.js';
import { defineMigrationRule, target, type MigrationStatement } from '../src/rule.js';

export default defineMigrationRule({
  id: 'missing-lock-timeout',
  title: 'Blocking lock without lock_timeout',
  category: 'migrations',
  severity: 'warning',
  requires: [],
  options: {
    /** The lock_timeout the fix sets. */
    lockTimeout: '5s',
  },
  docs: `
## What is wrong
A migration takes a lock that conflicts with writes (SHARE or stronger) on a table that
existed before it, without first setting \`lock_timeout\`. Reported once per file, at the
first such statement.

## Why it hurts
Locks are granted in queue order. An \`ALTER TABLE\` that needs ACCESS EXCLUSIVE must wait
for every transaction already using the table, and while it waits it blocks every query
that arrives after it, plain SELECTs included, even when the ALTER itself would take a
millisecond. One analytics query running for 10 minutes, or one idle-in-transaction
session, plus one "instant" \`ADD COLUMN\` makes the table unreachable for 10 minutes;
connection pools fill up and the application goes down. The default lock_timeout is 0:
wait forever. With \`lock_timeout = '5s'\` the migration gives up after 5 seconds instead,
having blocked traffic for at most that long, and can be retried.

## How perfaudit detects it
The check server records for each statement whether a \`SET [LOCAL] lock_timeout\` to a
non-zero value ran earlier in the file. The first statement without one that takes SHARE
or a stronger lock on a pre-existing table is the finding: most ALTER TABLE forms
(ACCESS EXCLUSIVE; SHARE ROW EXCLUSIVE for foreign keys and trigger toggles), CREATE INDEX
without CONCURRENTLY and REINDEX (SHARE), DROP INDEX without CONCURRENTLY, DROP TABLE,
TRUNCATE, CLUSTER, VACUUM FULL, renames, CREATE TRIGGER (SHARE ROW EXCLUSIVE), and LOCK in
SHARE mode or stronger. Tables created earlier in the same file are exempt; statements
that take SHARE UPDATE EXCLUSIVE or weaker (CONCURRENTLY forms, VALIDATE CONSTRAINT,
SET STATISTICS, most reloptions) let writes through and need no timeout.

## Fix
Instead of

    ALTER TABLE app.orders ADD COLUMN note text;

use

    SET lock_timeout = '5s';
    ALTER TABLE app.orders ADD COLUMN note text;

at the top of the migration, and retry the migration when it fails with "canceling
statement due to lock timeout" (with a pause; perfaudit apply does this). The timeout
option sets the value the fix proposes.

## Limits
A lock_timeout set outside the file (\`ALTER ROLE … SET lock_timeout\`, the migration
tool's connection string) is not seen; set it in the file to make it visible.
\`statement_timeout\` also ends a long wait, but it ends long index builds too and is not
counted. REINDEX and VACUUM FULL of a whole schema or database count even though they
name no table. Locks taken on other tables than the one the statement is about (the
referenced table of a foreign key, a partition being attached) are not considered separately.
`,
  checkMigration(migration, options) {
    const first = migration.statements.find(needsTimeout);
    if (!first) return [];
    const lock = writeBlockingLock(first);
    const table = resolvedTable(first);
    return [findingAt(
      first,
      table ? targetOn('table', table) : target('database', {}),
      `Line ${first.line} takes ${lock} on ${table ? tableLabel(table) : 'many tables'} with no lock_timeout set: `
        + 'if it waits behind a long-running query, every later query on the table waits behind it.',
      manualFix([
        comment(`at the top of the migration, so a lock that is not granted within ${options.lockTimeout} fails the migration (retry it later) instead of stalling the table:`),
        `SET lock_timeout = ${quoteLiteral(options.lockTimeout)};`,
      ], null, true),
      { lock },
    )];
  },
});

// Statements that name no single table but lock many: they need the timeout as much.
function locksManyTables({ kind, node }: MigrationStatement): boolean {
  return (kind === 'ReindexStmt' && node.kind !== 'REINDEX_OBJECT_INDEX' && node.kind !== 'REINDEX_OBJECT_TABLE')
    || (kind === 'VacuumStmt' && node.rels === undefined)
    || (kind === 'ClusterStmt' && node.relation === undefined);
}

function needsTimeout(statement: MigrationStatement): boolean {
  if (statement.lockTimeoutSet || writeBlockingLock(statement) === null) return false;
  return statement.target ? !statement.target.newInFile : locksManyTables(statement);
}
