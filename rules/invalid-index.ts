import { lookup, type Lookup } from '../src/collect/lookup.js';
import type { Index, Snapshot, Table } from '../src/collect/snapshot.js';
import { dropIndexAction, indexDefinition, indexNamer, type IndexNamer } from '../src/plan/index-ddl.js';
import { formatBytes } from '../src/plan/numbers.js';
import { qualify, quoteIdent } from '../src/plan/quote.js';
import { defineRule, target, type Action, type FindingDraft } from '../src/rule.js';

const BUILD_LOCK = 'SHARE UPDATE EXCLUSIVE';

export default defineRule({
  id: 'invalid-index',
  title: 'Invalid index',
  category: 'indexes',
  severity: 'warning',
  requires: [],
  options: {},
  docs: `
## What is wrong
An index marked invalid (\`pg_index.indisvalid = false\`): what a failed or cancelled
\`CREATE INDEX CONCURRENTLY\` or \`REINDEX CONCURRENTLY\` leaves behind, or a partitioned
index that not every partition has a valid index attached to.

## Why it hurts
The planner never uses an invalid index, so the queries it was built for still scan. Yet if
the build failed after the index became ready, every INSERT and UPDATE keeps maintaining it
(a 2 GB invalid index on a busy table costs as much write I/O as a valid one), and an
invalid *unique* index still rejects duplicate writes. Worse, it hides: the migration that
built it, re-run with \`CREATE INDEX CONCURRENTLY IF NOT EXISTS\`, finds the name taken and
succeeds without building anything. A partitioned index that is invalid is missing on some
partitions, and a unique one is not enforced there.

## How perfaudit detects it
Every index with \`indisvalid = false\`, except while an index build runs on its table (or on a
partition of it): \`pg_stat_progress_create_index\` lists it, and a concurrent build is
invalid until its last phase. Partitions' indexes attached to a partitioned index are
reported once, at the partitioned index. Twins are found by comparing the definitions
perfaudit renders for both indexes.

## Fix
An invalid index with a valid twin of the same definition (the \`_ccnew\`/\`_ccold\`
leftovers of REINDEX CONCURRENTLY, or an \`ON ONLY\` index duplicating a finished one) is
only dropped: completing it would add a duplicate.

Plain table: \`DROP INDEX CONCURRENTLY IF EXISTS\`, then a \`manual\` step to re-create it
concurrently once the cause is fixed (none when the index is not live: someone was dropping
it). For a unique index that step starts with a query listing the duplicate keys that made
the build fail (rows with a NULL key never conflict unless the index is NULLS NOT DISTINCT;
a partial index only compares rows matching its predicate).

Partitioned index: it is completed, not dropped (dropping it would also drop every
partition's index under ACCESS EXCLUSIVE locks). Per partition without a valid attached
index: attach an equivalent index the partition already has, or build one concurrently and
attach it, the same steps missing-fk-index uses to build on a partitioned table. An
invalid index already attached needs \`REINDEX INDEX CONCURRENTLY\` and then attaching again
(which re-validates the parent); a plan would reorder those two, so that case is one
\`manual\` step. For a unique index, a \`manual\` step adds the duplicate-keys query.

## Limits
An index being dropped concurrently right now looks like a failed build (no progress view
covers DROP). A partitioned index rolled out by hand, partition by partition, is reported
between two builds, and its plan completes the roll-out with the same definition. Duplicate-key queries group with the key's collation but not its operator
class: a unique index on a non-default equality opclass may count differently.
`,
  check(snapshot) {
    const catalog = lookup(snapshot);
    const busy = tablesWithBuilds(snapshot, catalog);
    const name = indexNamer(catalog);
    return snapshot.indexes
      .filter((index) => !index.valid && index.parentIndexOid === null && !busy.has(index.tableOid))
      .flatMap((index): FindingDraft[] => {
        const table = catalog.table(index.tableOid);
        if (!table) return [];
        const twin = catalog.indexesOf(table.oid).find((other) => other.valid && sameDefinition(other, index, table, catalog));
        if (twin) return [twinFinding(index, twin, table, catalog, snapshot.server.blockSize)];
        return [table.kind === 'partitioned'
          ? partitionedFinding(index, table, catalog, name)
          : plainFinding(index, table, catalog, snapshot.server.blockSize)];
      });
  },
});

// Completing or re-creating it would only add a duplicate: the drop is the whole fix.
function twinFinding(index: Index, twin: Index, table: Table, catalog: Lookup, blockSize: number): FindingDraft {
  return {
    message: `${index.schema}.${index.name} on ${table.schema}.${table.name} is an invalid copy of the valid ${twin.name} `
      + `(left by an interrupted REINDEX CONCURRENTLY or an abandoned ON ONLY build): ${costs(index, table, blockSize).join(', ')}.`,
    target: indexTarget(index, table, catalog),
    evidence: { sizeBytes: index.relpages * blockSize, unique: index.unique, ready: index.ready, live: index.live, validTwin: twin.name },
    actions: [dropIndexAction(index, table, catalog, twin)],
  };
}

function plainFinding(index: Index, table: Table, catalog: Lookup, blockSize: number): FindingDraft {
  const cause = index.live ? 'a failed or interrupted CREATE INDEX CONCURRENTLY' : 'an interrupted DROP INDEX CONCURRENTLY';
  const hidden = index.live ? ['and re-running its CREATE INDEX … IF NOT EXISTS silently keeps it'] : [];
  return {
    message: `${index.schema}.${index.name} on ${table.schema}.${table.name} is invalid (left by ${cause}): ${[...costs(index, table, blockSize), ...hidden].join(', ')}.`,
    target: indexTarget(index, table, catalog),
    evidence: { sizeBytes: index.relpages * blockSize, unique: index.unique, ready: index.ready, live: index.live, validTwin: null },
    // Not live: someone was dropping it, so nothing is re-created.
    actions: [dropIndexAction(index, table, catalog), ...(index.live ? [recreateAction(index, table, catalog)] : [])],
  };
}

// A partitioned index has no storage of its own; its attached partitions' indexes are valid ones.
function costs(index: Index, table: Table, blockSize: number): string[] {
  const maintained = index.ready && table.kind !== 'partitioned';
  return ['queries never use it', ...(maintained ? [`every write still maintains it (${formatBytes(index.relpages * blockSize)})`] : [])];
}

function recreateAction(index: Index, table: Table, catalog: Lookup): Action {
  return manual([
    '-- Re-create the index once the cause of the failed build is fixed (after the DROP, or IF NOT EXISTS skips it).',
    ...(index.unique ? ['-- It is unique: these keys are duplicated and made the build fail; resolve them first.', duplicateKeysQuery(index, table, catalog)] : []),
    indexDefinition(index, table, catalog, { concurrently: true }),
  ]);
}

function partitionedFinding(index: Index, table: Table, catalog: Lookup, name: IndexNamer): FindingDraft {
  const { pending, steps } = completionSteps(index, table, catalog, name);
  // A REINDEX must run before the ATTACH that re-validates the parent, but a plan runs
  // reindexes after all creates and attaches: such a sequence stays a manual step.
  const ordered = !steps.some((step) => step.kind === 'reindex');
  const actions = ordered ? [...steps] : [manual(['-- Run in this order (REINDEX before the ATTACH after it):', ...steps.map((step) => step.sql)])];
  if (index.unique) actions.push(manual(['-- If a build fails on duplicate keys, this query lists them:', duplicateKeysQuery(index, table, catalog)]));
  const partitions = catalog.partitionsOf(table.oid).length;
  return {
    message: `${index.schema}.${index.name} on partitioned ${table.schema}.${table.name} is invalid: ` + (pending.length
      ? `${pending.length} of ${partitions} partitions have no valid index attached to it (${pending.map((p) => `${p.schema}.${p.name}`).join(', ')}).`
      : 'every partition has a valid index attached, but it was never re-validated.'),
    target: indexTarget(index, table, catalog),
    evidence: { unique: index.unique, partitions, partitionsWithoutValidIndex: pending.length },
    actions,
  };
}

/**
 * What makes a partitioned index valid: per partition without a valid attached index,
 * attach an equivalent index it already has, or build one and attach it, or rebuild the
 * invalid attached one and attach it again (attaching is what re-validates the parent).
 * Sub-partitioned partitions recurse.
 *
 * @example CREATE INDEX CONCURRENTLY IF NOT EXISTS events_2026_kind_idx ON app.events_2026 USING btree (kind);
 * @example ALTER INDEX app.events_kind_idx ATTACH PARTITION app.events_2026_kind_idx;
 */
function completionSteps(index: Index, table: Table, catalog: Lookup, name: IndexNamer): { pending: Table[]; steps: Action[] } {
  const pending: Table[] = [];
  const steps: Action[] = [];
  const attach = (schema: string, child: string): Action => ({
    kind: 'create-index',
    sql: `ALTER INDEX ${qualify(index.schema, index.name)} ATTACH PARTITION ${qualify(schema, child)};`,
    transactional: true,
    lock: BUILD_LOCK,
  });
  for (const partition of catalog.partitionsOf(table.oid)) {
    const attached = catalog.childIndexes(index.oid).find((child) => child.tableOid === partition.oid);
    if (attached?.valid) continue;
    pending.push(partition);
    if (attached) {
      steps.push(...(partition.kind === 'partitioned'
        ? completionSteps(attached, partition, catalog, name).steps
        : [{ kind: 'reindex', sql: `REINDEX INDEX CONCURRENTLY ${qualify(attached.schema, attached.name)};`, transactional: false, lock: BUILD_LOCK } as const]));
      steps.push(attach(attached.schema, attached.name));
      continue;
    }
    const equivalent = catalog.indexesOf(partition.oid)
      .find((other) => other.valid && other.parentIndexOid === null && sameDefinition(other, index, partition, catalog));
    const childName = equivalent?.name ?? name(partition, keyNames(index, catalog, 'expr'));
    // CONCURRENTLY is refused on a partitioned table; the plain build recurses into its partitions.
    const leaf = partition.kind !== 'partitioned';
    if (!equivalent) {
      steps.push({
        kind: 'create-index',
        sql: indexDefinition(index, partition, catalog, { concurrently: leaf, name: childName }),
        transactional: !leaf,
        lock: leaf ? BUILD_LOCK : 'SHARE',
        undo: `DROP INDEX ${leaf ? 'CONCURRENTLY ' : ''}IF EXISTS ${qualify(partition.schema, childName)};`,
      });
    }
    steps.push(attach(partition.schema, childName));
  }
  // Every partition is fine but the parent was never re-validated (e.g. after a REINDEX): attaching again does it.
  const first = catalog.childIndexes(index.oid)[0];
  if (steps.length === 0 && first) steps.push(attach(first.schema, first.name));
  return { pending, steps };
}

function manual(lines: readonly string[]): Action {
  return { kind: 'manual', sql: lines.join('\n'), transactional: false, lock: BUILD_LOCK };
}

/**
 * The keys that a unique index found duplicated, most frequent first. Rows with a NULL
 * key never conflict unless the index is NULLS NOT DISTINCT; a partial index only
 * compares rows matching its predicate.
 *
 * @example SELECT (lower(email)), count(*) FROM app.accounts WHERE (lower(email)) IS NOT NULL GROUP BY (lower(email)) HAVING count(*) > 1 ORDER BY count(*) DESC LIMIT 100;
 */
function duplicateKeysQuery(index: Index, table: Table, catalog: Lookup): string {
  const keys = index.keys.map((key) => {
    const text = key.expression === null ? quoteIdent(catalog.columnName(index.tableOid, key.attnum)) : `(${key.expression})`;
    const collation = !key.collationIsDefault && key.collation ? ` COLLATE ${qualify(key.collation.schema, key.collation.name)}` : '';
    const nullable = key.expression !== null || !table.columns.find((column) => column.attnum === key.attnum)?.notNull;
    return { text, grouped: text + collation, nullable };
  });
  const conditions = [
    ...(index.predicate ? [`(${index.predicate})`] : []),
    ...(index.nullsNotDistinct ? [] : keys.filter((key) => key.nullable).map((key) => `${key.text} IS NOT NULL`)),
  ];
  const grouped = keys.map((key) => key.grouped).join(', ');
  const where = conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '';
  return `SELECT ${grouped}, count(*) FROM ${qualify(table.schema, table.name)}${where} GROUP BY ${grouped} HAVING count(*) > 1 ORDER BY count(*) DESC LIMIT 100;`;
}

// Tables (and their partitioned ancestors) with an index build in progress: a concurrent
// build, and REINDEX CONCURRENTLY's new copy, are invalid until their last phase.
function tablesWithBuilds(snapshot: Snapshot, catalog: Lookup): ReadonlySet<number> {
  const busy = new Set<number>();
  for (const oid of snapshot.indexesInProgress) {
    let table = catalog.table(catalog.index(oid)?.tableOid ?? 0);
    while (table && !busy.has(table.oid)) {
      busy.add(table.oid);
      table = table.partitionOf === null ? undefined : catalog.table(table.partitionOf);
    }
  }
  return busy;
}

function sameDefinition(a: Index, b: Index, table: Table, catalog: Lookup): boolean {
  if (a.oid === b.oid) return false;
  const render = (index: Index) => indexDefinition(index, table, catalog, { concurrently: false, name: '_' });
  return render(a) === render(b);
}

/** Key column names; an expression key by its text, or by `expressionName` (as PostgreSQL names indexes: `expr`). */
function keyNames(index: Index, catalog: Lookup, expressionName?: string): string[] {
  return index.keys.map((key) => key.expression === null ? catalog.columnName(index.tableOid, key.attnum) : (expressionName ?? key.expression));
}

function indexTarget(index: Index, table: Table, catalog: Lookup) {
  return target('index', { schema: table.schema, table: table.name, name: index.name, columns: keyNames(index, catalog) });
}
