import { soleForeignKeyIndexes } from '../src/collect/fk-coverage.js';
import { compareIndexes, sameKey, type IndexComparison } from '../src/collect/index-signature.js';
import type { Index } from '../src/collect/snapshot.js';
import { groupBy } from '../src/collect/tables.js';
import { dropIndexAction } from '../src/plan/index-ddl.js';
import { formatBytes, formatCount } from '../src/plan/numbers.js';
import { defineRule, target, type FindingDraft } from '../src/rule.js';

export default defineRule({
  id: 'redundant-index',
  title: 'Index covered by a longer index',
  category: 'indexes',
  severity: 'warning',
  requires: [],
  options: {},
  docs: `
## What is wrong
A btree index whose keys are the leading keys of another btree index on the same table:
\`(customer_id)\` beside \`(customer_id, placed_at)\`. Every lookup, range scan and sort
the short index serves, the long one serves too.

## Why it hurts
The short index is paid for on every INSERT, every non-HOT UPDATE and every VACUUM, and
takes disk, WAL, backup and cache space: about 200 MB for one bigint key over 10 million
rows. The planner gains little from it: descending a btree costs a handful of page reads
whatever the number of keys.

## How perfaudit detects it
Both indexes valid btrees on the same table with the same predicate (as PostgreSQL
deparses it); the short one's keys a strict leading prefix of the long one's, key for
key the same column or expression, operator class, collation, DESC and NULLS FIRST; the
short one's INCLUDE columns among the long one's keys or INCLUDE columns, so index-only
scans still work. Equal key lists are duplicate-index's business.

The short index is never reported when it is unique (it enforces something the long one
does not), backs a constraint, is the index a foreign key depends on, is attached to a
partitioned index, or is the only index serving some foreign key's checks. Among several
covering indexes the longest is named (it stays when the whole plan is applied), then
the one duplicate-index would keep.

## Fix
\`DROP INDEX CONCURRENTLY IF EXISTS\` the short index (the action carries the CREATE INDEX
that undoes it). An index on a partitioned table cannot be dropped concurrently: that
DROP takes an ACCESS EXCLUSIVE lock on the whole tree, briefly.

## Limits
When the long index is much wider (a long text key after the shared prefix) it costs
more to read for the lookups the short one served: compare \`indexBytes\` with
\`coveredByBytes\` in the evidence before dropping a small, hot index. The REPLICA
IDENTITY and CLUSTER indexes are always kept; an index named in query hints is not
known to the snapshot, so not protected. A prefix usable only by a backward scan (\`(a DESC)\`
against \`(a, b)\`) and an index whose keys equal another's but with fewer INCLUDE
columns are not reported.
`,
  check(snapshot) {
    const indexes = compareIndexes(snapshot);
    const soleFkIndexes = soleForeignKeyIndexes(snapshot.foreignKeys, indexes.catalog);
    const btrees = indexes.usable.filter((index) => index.method === 'btree');
    const btreesByTable = groupBy(btrees, (index) => index.tableOid);
    return btrees
      .filter((index) => !index.unique && !indexes.mustKeep(index) && !soleFkIndexes.has(index.oid))
      .flatMap((index) => {
        const covering = (btreesByTable.get(index.tableOid) ?? []).filter((other) => covers(other, index)).sort(
          (a, b) => b.keys.length - a.keys.length || indexes.keepOrder(a, b),
        );
        return covering[0] ? redundantFinding(index, covering[0], indexes) : [];
      });
  },
});

/** Whether `long` serves every query `short` serves: `short`'s keys are its strict leading prefix. */
function covers(long: Index, short: Index): boolean {
  if (long.tableOid !== short.tableOid || long.predicate !== short.predicate || long.keys.length <= short.keys.length) return false;
  if (!short.keys.every((key, i) => long.keys[i] !== undefined && sameKey(key, long.keys[i]))) return false;
  return short.include.every((attnum) => attnum !== 0 && (long.include.includes(attnum) || long.keys.some((key) => key.attnum === attnum)));
}

function redundantFinding(index: Index, longer: Index, indexes: IndexComparison): FindingDraft[] {
  const table = indexes.catalog.table(index.tableOid);
  if (!table) return [];
  const columns = indexes.columns(index);
  const bytes = indexes.bytes(index);
  return [{
    message: `${index.name} on ${table.schema}.${table.name} (${columns.join(', ')}) is a leading prefix of `
      + `${longer.name} (${indexes.columns(longer).join(', ')}); dropping it frees ${formatBytes(bytes)} and its upkeep on every write `
      + `(${formatCount(indexes.scans(index))} scans against ${formatCount(indexes.scans(longer))} on ${longer.name}).`,
    target: target('index', { schema: table.schema, table: table.name, name: index.name, columns }),
    evidence: {
      coveredBy: longer.name,
      indexBytes: bytes,
      coveredByBytes: indexes.bytes(longer),
      indexScans: indexes.scans(index),
      coveredByScans: indexes.scans(longer),
    },
    actions: [dropIndexAction(index, table, indexes.catalog, longer)],
  }];
}
