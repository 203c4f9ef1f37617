import { existingTable, findingAt, hasOption, indexNamed, manualFix, tableLabel, targetOn } from '../src/migrate/hazard.js';
import { insertAfterKeyword, sqlSource } from '../src/migrate/sql-source.js';
import { target, defineMigrationRule, type MigrationFindingDraft, type MigrationStatement, type Target } from '../src/rule.js';

export default defineMigrationRule({
  id: 'non-concurrent-reindex',
  title: 'REINDEX without CONCURRENTLY',
  category: 'migrations',
  severity: 'warning',
  requires: [],
  options: {},
  docs: `
## What is wrong
\`REINDEX INDEX | TABLE | SCHEMA | DATABASE | SYSTEM\` without \`CONCURRENTLY\` in a migration.

## Why it hurts
REINDEX holds a SHARE lock on the table (no INSERT, UPDATE or DELETE) and an ACCESS
EXCLUSIVE lock on each index it rebuilds until it commits. Planning any query on the table
needs a lock on every one of its indexes, so in practice reads stop too, not only the ones
that would use the index. Rebuilding is a full sort of the table's keys: roughly a minute
per few GB of index, and REINDEX TABLE / SCHEMA / DATABASE rebuild every index in one go
with the locks piling up. \`REINDEX CONCURRENTLY\` (PostgreSQL 12+) builds a new copy next
to the old one under SHARE UPDATE EXCLUSIVE and swaps them, blocking neither reads nor writes.

## How perfaudit detects it
A ReindexStmt without the CONCURRENTLY option. REINDEX INDEX and TABLE on tables created
earlier in the same file are exempt.

## Fix
Instead of

    REINDEX INDEX app.orders_status_idx;

use

    REINDEX INDEX CONCURRENTLY app.orders_status_idx;

outside a transaction block (see concurrently-in-transaction). It takes about twice the
work and the disk space of the index while both copies exist; a failed run leaves an
INVALID \`…_ccnew\` index to drop. System catalogs cannot be reindexed concurrently:
\`REINDEX SYSTEM\` belongs in a maintenance window, not a migration.

## Limits
Exclusion-constraint indexes cannot be rebuilt concurrently (PostgreSQL skips them with a
warning in REINDEX TABLE CONCURRENTLY and refuses them in REINDEX INDEX CONCURRENTLY).
Whether the rebuild is needed at all (bloat, corruption, a collation change) is not judged.
`,
  checkMigration(migration) {
    return migration.statements.filter(isPlainReindex).map(finding);
  },
});

const ON_TABLE = new Set(['REINDEX_OBJECT_INDEX', 'REINDEX_OBJECT_TABLE']);

// The keyword after which CONCURRENTLY goes, per REINDEX kind.
const KIND_KEYWORD: Readonly<Record<string, string>> = {
  REINDEX_OBJECT_INDEX: 'INDEX',
  REINDEX_OBJECT_TABLE: 'TABLE',
  REINDEX_OBJECT_SCHEMA: 'SCHEMA',
  REINDEX_OBJECT_DATABASE: 'DATABASE',
};

// REINDEX INDEX and TABLE count on tables that existed before the file; SCHEMA, DATABASE
// and SYSTEM name no table and always count.
function isPlainReindex(statement: MigrationStatement): boolean {
  if (statement.kind !== 'ReindexStmt' || hasOption(statement.node.params, 'concurrently')) return false;
  return !ON_TABLE.has(String(statement.node.kind)) || existingTable(statement) !== null;
}

function finding(statement: MigrationStatement): MigrationFindingDraft {
  const keyword = KIND_KEYWORD[String(statement.node.kind)];
  const concurrent = keyword ? insertAfterKeyword(sqlSource(statement.text), keyword, 'CONCURRENTLY') : null;
  const fix = concurrent
    ? manualFix([`${concurrent};`], 'SHARE UPDATE EXCLUSIVE', false)
    : manualFix(['-- System catalogs cannot be reindexed concurrently: run this in a maintenance window, not in a migration.'], null, false);
  const { found, message } = describe(statement);
  return findingAt(statement, found, message, fix, { lock: 'SHARE' });
}

function describe(statement: MigrationStatement): { found: Target; message: string } {
  const { kind, name } = statement.node;
  const table = existingTable(statement);
  const locks = 'holds SHARE (no writes) and ACCESS EXCLUSIVE on each rebuilt index (no queries that plan on the table)';
  if (kind === 'REINDEX_OBJECT_INDEX') {
    const index = indexNamed(statement);
    return {
      found: target('index', { schema: table?.schema ?? index?.schema ?? null, table: table?.name ?? null, name: index?.name ?? null }),
      message: `REINDEX INDEX ${tableLabel(index)} ${locks} on ${tableLabel(table)} until it is rebuilt; use REINDEX CONCURRENTLY.`,
    };
  }
  if (kind === 'REINDEX_OBJECT_TABLE') {
    return { found: targetOn('table', table), message: `REINDEX TABLE ${tableLabel(table)} ${locks} until all are rebuilt; use REINDEX CONCURRENTLY.` };
  }
  const schema = kind === 'REINDEX_OBJECT_SCHEMA' && typeof name === 'string' ? name : null;
  const scope = schema === null ? (kind === 'REINDEX_OBJECT_SYSTEM' ? 'the system catalogs' : 'the database') : `schema ${schema}`;
  return {
    found: target('database', { schema }),
    message: `REINDEX of ${scope} ${locks} on every table it covers, piling up locks until it commits${kind === 'REINDEX_OBJECT_SYSTEM' ? '' : '; use REINDEX CONCURRENTLY'}.`,
  };
}
