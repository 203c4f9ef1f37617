import { compareIndexes, enforcesUniquenessOf, indexSignature, type IndexComparison } from '../src/collect/index-signature.js';
import type { Index } from '../src/collect/snapshot.js';
import { groupBy } from '../src/collect/tables.js';
import { dropIndexAction } from '../src/plan/index-ddl.js';
import { formatBytes, formatCount } from '../src/plan/numbers.js';
import { defineRule, target, type FindingDraft } from '../src/rule.js';

export default defineRule({
  id: 'duplicate-index',
  title: 'Duplicate index',
  category: 'indexes',
  severity: 'warning',
  requires: [],
  options: {},
  docs: `
## What is wrong
Two or more indexes on the same table that are the same index under different names:
same access method, same key columns or expressions in the same order, same operator
classes, collations and sort order, same INCLUDE columns, same predicate.

## Why it hurts
A copy answers no query the original cannot, yet every INSERT, every non-HOT UPDATE and
every VACUUM pays for it again. A btree on one bigint column of a 10-million-row table
is about 200 MB of disk, WAL, backups and replica traffic, and it competes with the
original for shared_buffers. Each extra index also adds planning work for every query
on the table.

## How perfaudit detects it
Valid indexes (invalid ones are invalid-index's business) are grouped by what decides
the queries they serve: table, method, keys (column or deparsed expression, operator
class, collation, DESC, NULLS FIRST), INCLUDE columns as a set, and the predicate as
PostgreSQL deparses it, so \`WHERE deleted_at IS NULL\` and \`WHERE (deleted_at IS NULL)\`
match. For BRIN, GIN, GiST and other methods storage parameters count too, since
\`pages_per_range\` or a bloom signature length changes what the index holds.

In each group one index is kept: one that cannot be dropped on its own (it backs a
primary key, unique or exclusion constraint, a foreign key depends on it, or it is
attached to a partitioned index), else a unique one, else the most scanned, else the
first by name. Every other index is reported as a duplicate of a kept index that
enforces at least its uniqueness: a non-unique copy of a unique index is the duplicate,
never the other way round, and two unique indexes that differ in NULLS NOT DISTINCT are
both kept. An index that cannot be dropped is never reported; when every copy is such an
index, nothing is. Partition indexes are compared like any other: a partition's own
index identical to one attached from the parent is the one to drop.

## Fix
\`DROP INDEX CONCURRENTLY IF EXISTS\` the duplicate (the action carries the CREATE INDEX
that undoes it). An index on a partitioned table cannot be dropped concurrently: that
DROP takes an ACCESS EXCLUSIVE lock on the whole tree, briefly.

## Limits
The REPLICA IDENTITY index and the CLUSTER index are always kept. Not known to the
snapshot, so not protected: an index named in query hints, and a
non-deferrable unique index kept beside an identical DEFERRABLE constraint so that
\`ON CONFLICT\` has an arbiter — check those before dropping. Semantically equal indexes
that are spelled differently are not matched: an index scanned backwards
(\`(a DESC)\` against \`(a)\`), a collation equal to the database default under another
name, equivalent expressions PostgreSQL deparses differently. An index whose keys equal
another's with extra INCLUDE columns is covered by it but not reported.
`,
  check(snapshot) {
    const indexes = compareIndexes(snapshot);
    const candidates = [...groupBy(indexes.usable, (index) => index.tableOid).values()]
      .flatMap((onTable) => onTable.filter((index) => onTable.some((other) => other !== index && mayEqual(index, other))));
    return [...groupBy(candidates, indexSignature).values()]
      .filter((group) => group.length > 1)
      .flatMap((group) => duplicatesIn(group, indexes));
  },
});

// A cheap test before the signature, a long string: at 41,000 indexes, computing every
// signature costs more than the rest of the rule.
function mayEqual(a: Index, b: Index): boolean {
  return a.method === b.method && a.keys.length === b.keys.length && a.keys[0]?.attnum === b.keys[0]?.attnum;
}

// Walks the group best-to-keep first: each index is either a duplicate of one already
// kept, or kept itself (unique with other null semantics, or not droppable).
function duplicatesIn(group: readonly Index[], indexes: IndexComparison): FindingDraft[] {
  const kept: Index[] = [];
  const findings: FindingDraft[] = [];
  for (const index of [...group].sort(indexes.keepOrder)) {
    const original = kept.find((candidate) => enforcesUniquenessOf(candidate, index));
    if (original && !indexes.mustKeep(index)) findings.push(...duplicateFinding(index, original, indexes));
    else kept.push(index);
  }
  return findings;
}

function duplicateFinding(index: Index, original: Index, indexes: IndexComparison): FindingDraft[] {
  const table = indexes.catalog.table(index.tableOid);
  if (!table) return [];
  const columns = indexes.columns(index);
  const bytes = indexes.bytes(index);
  return [{
    message: `${index.name} on ${table.schema}.${table.name} (${columns.join(', ')}) duplicates ${original.name}; `
      + `dropping it frees ${formatBytes(bytes)} and its upkeep on every write `
      + `(${formatCount(indexes.scans(index))} scans against ${formatCount(indexes.scans(original))} on ${original.name}).`,
    target: target('index', { schema: table.schema, table: table.name, name: index.name, columns }),
    evidence: {
      duplicateOf: original.name,
      indexBytes: bytes,
      duplicateOfBytes: indexes.bytes(original),
      indexScans: indexes.scans(index),
      duplicateOfScans: indexes.scans(original),
    },
    actions: [dropIndexAction(index, table, indexes.catalog, original)],
  }];
}
