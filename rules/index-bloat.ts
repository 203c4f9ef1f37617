import { bloatCandidates } from '../src/collect/exact-bloat.js';
import { lookup } from '../src/collect/lookup.js';
import { columnStatsMap, estimateBtreeBloat } from '../src/collect/row-width.js';
import { bloatUnjudged, hiddenStatisticsNote, withoutStatistics } from '../src/collect/visibility.js';
import { formatBytes } from '../src/plan/numbers.js';
import { qualify } from '../src/plan/quote.js';
import { defineRule, target, type FindingDraft } from '../src/rule.js';

export default defineRule({
  id: 'index-bloat',
  title: 'Index bloat',
  category: 'indexes',
  severity: 'warning',
  requires: [],
  options: {
    /** Indexes smaller than this are ignored. */
    minIndexBytes: 10 * 1024 * 1024,
    /** Report when at least this share of the index is wasted… */
    minWastedShare: 0.3,
    /** …and at least this many bytes. */
    minWastedBytes: 50 * 1024 * 1024,
  },
  docs: `
## What is wrong
A btree index much larger than its entries need: pages left half empty by page splits
and by entries that VACUUM removed, which btree keeps until pages become entirely empty.

## Why it hurts
Every index scan descends through and reads more pages than necessary, the index takes
more of shared buffers and the OS cache, and every write and VACUUM touches the extra
pages. Heavy updates of indexed columns and mass deletes are the usual cause.

## How perfaudit detects it
An estimate from catalog statistics, labelled \`method: 'estimate'\` in the evidence: each
leaf entry is the 8-byte index tuple header plus the key (and INCLUDE) columns' \`avg_width\`
from the table's \`pg_stats\`, MAXALIGNed, plus a 4-byte line pointer. Entries for
\`reltuples\` rows are packed at the index fillfactor (90 by default) into pages less the
24-byte page header and 16-byte btree special space; upper levels and the metapage are
added, and the expected size is compared with \`relpages\`. Wasted space is never
negative. Only valid btree indexes of at least \`minIndexBytes\` on tables with fresh
statistics are judged; expression and partial indexes are skipped (no statistics for
the expression, no row count for the predicate). A finding needs \`minWastedShare\` and
\`minWastedBytes\`. With \`scan --exact\` and \`pgstattuple\` installed, \`pgstatindex\` measures
the leaf density instead and the evidence says \`method: 'pgstattuple'\`.

## Fix
\`REINDEX INDEX CONCURRENTLY\` builds a fresh copy beside the old one and swaps them,
taking only SHARE UPDATE EXCLUSIVE (reads and writes continue). It needs disk space for
the new copy, cannot run inside a transaction block, and leaves an invalid \`_ccnew\`
index behind if it fails (drop it and retry).

## Limits
Since PostgreSQL 13, btree deduplication stores repeated keys once, so an index of
low-cardinality columns can be much smaller than this estimate: such indexes show no
bloat (never negative bloat), and bloat hidden behind deduplication goes unseen. Indexes
filled by random inserts settle around 70% full, which the estimate counts as waste.
Per-column alignment inside the key, NULL bitmaps and pivot keys of upper levels are
approximated. GIN, GiST, hash, BRIN and SP-GiST indexes are not estimated.
`,
  coverageGap(snapshot, options) {
    const catalog = lookup(snapshot);
    const unmeasured = bloatCandidates(snapshot, Infinity, options.minIndexBytes).indexes.filter((index) => !snapshot.exactBloat?.indexes[String(index.oid)]);
    const tables = [...new Set(unmeasured.flatMap((index) => catalog.table(index.tableOid) ?? []))];
    return hiddenStatisticsNote(snapshot, withoutStatistics(snapshot, tables), bloatUnjudged(snapshot, 'the bloat of their indexes'));
  },
  check(snapshot, options) {
    const catalog = lookup(snapshot);
    const stats = columnStatsMap(snapshot);
    const blockSize = snapshot.server.blockSize;
    return snapshot.indexes.flatMap((index): FindingDraft[] => {
      const table = catalog.table(index.tableOid);
      if (!table || table.kind !== 'table' || index.method !== 'btree' || !index.valid || !index.ready) return [];
      const actualBytes = index.relpages * blockSize;
      if (actualBytes < options.minIndexBytes) return [];
      const exact = snapshot.exactBloat?.indexes[String(index.oid)];
      const estimate = exact ? null : estimateBtreeBloat(index, table, stats, blockSize);
      const figure = exact ?? estimate;
      if (!figure) return [];
      const wastedBytes = Math.round(figure.wastedBytes);
      if (figure.share < options.minWastedShare || wastedBytes < options.minWastedBytes) return [];
      const columns = index.keys.map((key) => key.expression ?? catalog.columnName(table.oid, key.attnum));
      return [{
        message: `${index.schema}.${index.name} on ${table.schema}.${table.name}: about ${formatBytes(wastedBytes)} of ${formatBytes(actualBytes)} `
          + `(${Math.round(figure.share * 100)}%) is wasted ` + (exact ? '(measured by pgstatindex).' : '(estimated from catalog statistics).'),
        target: target('index', { schema: index.schema, table: table.name, name: index.name, columns }),
        evidence: {
          method: exact ? 'pgstattuple' : 'estimate',
          indexBytes: actualBytes,
          expectedBytes: actualBytes - wastedBytes,
          wastedBytes,
          wastedShare: Math.round(figure.share * 1000) / 1000,
          rows: catalog.rowsOf(table),
          entryBytes: estimate?.entryBytes ?? null,
          fillfactor: estimate?.fillfactor ?? null,
          unique: index.unique,
          exactRequested: snapshot.exactBloat !== undefined,
          exactUnavailable: snapshot.exactBloat?.unavailable ?? null,
        },
        actions: [{
          kind: 'reindex',
          sql: `REINDEX INDEX CONCURRENTLY ${qualify(index.schema, index.name)};`,
          transactional: false,
          lock: 'SHARE UPDATE EXCLUSIVE',
        }],
      }];
    });
  },
});
