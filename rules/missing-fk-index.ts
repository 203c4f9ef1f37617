import { isForeignKeyCovered } from '../src/collect/fk-coverage.js';
import { lookup } from '../src/collect/lookup.js';
import { createIndexActions, indexNamer } from '../src/plan/index-ddl.js';
import { defineRule, target, type FindingDraft, type Severity } from '../src/rule.js';
import { formatCount, sumStats } from '../src/plan/numbers.js';

export default defineRule({
  id: 'missing-fk-index',
  title: 'Foreign key without a supporting index',
  category: 'indexes',
  severity: 'warning',
  requires: [],
  options: {
    /** Referencing tables below this many rows are cheap to scan: info only. */
    smallTableRows: 1000,
    /** A referencing table this big under a referenced table that sees deletes or updates: critical. */
    criticalRows: 1_000_000,
  },
  docs: `
## What is wrong
A foreign key whose referencing columns are not the leading columns of any index.

## Why it hurts
Every DELETE of a referenced row, and every UPDATE of its key, makes PostgreSQL look for
referencing rows. Without an index that check is a sequential scan of the whole
referencing table, run once per deleted row, under a lock: deleting 1,000 projects
scans a 1.2M-row tasks table 1,000 times. Joins from parent to children suffer the same way.

## How perfaudit detects it
An FK is covered by a valid, ready btree index whose leading key columns are exactly the
FK's columns as a set, in any order. INCLUDE columns and expression keys do not count.
A partial index covers only when its predicate is nothing but IS NOT NULL tests on FK
columns (NULL keys never need a check). A single-column hash index covers a
single-column FK. FKs of a partition tree are reported once, at the partitioned parent
(constraints cloned onto partitions are ignored); a valid partitioned index on the parent
covers every partition, and so does a covering index on every leaf partition.

Findings are ranked, not just listed: referencing tables under \`smallTableRows\`, and FKs
to small lookup tables that never see deletes or key updates, are \`info\` (schemas leave
those unindexed on purpose); a referencing table of \`criticalRows\` or more under a
referenced table that sees deletes or updates is \`critical\`; the rest are \`warning\`.

## Fix
\`CREATE INDEX CONCURRENTLY IF NOT EXISTS\` on the FK columns in constraint order. For a
partitioned table, which refuses CONCURRENTLY: \`CREATE INDEX … ON ONLY\` the parent, a
concurrent build on each partition, then \`ALTER INDEX … ATTACH PARTITION\` for each.

## Limits
Write activity comes from cumulative statistics since the last reset: a freshly reset or
new database ranks everything as if the referenced table were never written. Predicates
are matched on PostgreSQL's own deparsed text.
`,
  check(snapshot, options) {
    const catalog = lookup(snapshot);
    const name = indexNamer(catalog);
    return snapshot.foreignKeys
      .filter((fk) => !fk.inherited)
      .flatMap((fk): FindingDraft[] => {
        const table = catalog.table(fk.tableOid);
        const referenced = catalog.table(fk.referencedTableOid);
        if (!table || !referenced || isForeignKeyCovered(fk, table, catalog)) return [];
        const columns = fk.columns.map((attnum) => catalog.columnName(table.oid, attnum));
        const rows = catalog.rowsOf(table);
        const referencedRows = catalog.rowsOf(referenced);
        const parent = sumStats(catalog.leavesOf(referenced));
        const child = sumStats(catalog.leavesOf(table));
        const parentWrites = parent.deleted + parent.updated;
        const severity: Severity = rows < options.smallTableRows || (referencedRows < options.smallTableRows && parentWrites === 0)
          ? 'info'
          : rows >= options.criticalRows && parentWrites > 0 ? 'critical' : 'warning';
        return [{
          severity,
          message: `${table.schema}.${table.name}(${columns.join(', ')}) references ${referenced.schema}.${referenced.name}; `
            + `deletes and key updates on ${referenced.name} (${formatCount(parent.deleted)} deletes, ${formatCount(parent.updated)} updates so far) `
            + `scan ${table.name} (${formatCount(rows)} rows) without an index.`,
          target: target('constraint', { schema: table.schema, table: table.name, name: fk.name, columns }),
          evidence: {
            tableRows: rows,
            referencedTable: `${referenced.schema}.${referenced.name}`,
            referencedRows,
            referencedDeletes: parent.deleted,
            referencedUpdates: parent.updated,
            tableSeqScans: child.seqScan,
            onDelete: fk.onDelete,
          },
          actions: createIndexActions(table, columns, catalog, name),
        }];
      });
  },
});

