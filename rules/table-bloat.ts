import { bloatCandidates } from '../src/collect/exact-bloat.js';
import { lookup } from '../src/collect/lookup.js';
import { columnStatsMap, estimateTableBloat } from '../src/collect/row-width.js';
import { bloatUnjudged, hiddenStatisticsNote, withoutStatistics } from '../src/collect/visibility.js';
import { formatBytes } from '../src/plan/numbers.js';
import { qualify } from '../src/plan/quote.js';
import { defineRule, target, type Action, type FindingDraft } from '../src/rule.js';

export default defineRule({
  id: 'table-bloat',
  title: 'Table bloat',
  category: 'maintenance',
  severity: 'warning',
  requires: [],
  options: {
    /** Tables smaller than this (heap only) are ignored. */
    minTableBytes: 10 * 1024 * 1024,
    /** Report when at least this share of the heap is wasted… */
    minWastedShare: 0.3,
    /** …and at least this many bytes. */
    minWastedBytes: 50 * 1024 * 1024,
    /** From this wasted share on, VACUUM alone is not enough: name pg_repack and VACUUM FULL. */
    heavyShare: 0.5,
  },
  docs: `
## What is wrong
A table whose heap takes much more space than its live rows need: dead rows not yet
vacuumed, or free space that VACUUM reclaimed inside the file but never returned to the
operating system.

## Why it hurts
Sequential scans, VACUUM and backups read every page, live or not; wasted pages crowd
useful ones out of shared buffers and the OS cache, so a table at 20% live data costs
five times the I/O it should.

## How perfaudit detects it
An estimate from catalog statistics, labelled \`method: 'estimate'\` in the evidence: the
expected row is the 23-byte tuple header plus null bitmap, MAXALIGNed, plus the sum of
\`avg_width × (1 − null_frac)\` from \`pg_stats\`, MAXALIGNed, plus a 4-byte line pointer.
Values wider than about 2 kB live in TOAST and count as their 18-byte pointer. Rows are
packed at the table's fillfactor into pages less the 24-byte page header; the expected
page count for \`reltuples\` rows is compared with \`relpages\`. Wasted space is never
negative. Tables under \`minTableBytes\` are ignored, and a table is reported when at least
\`minWastedShare\` of it and \`minWastedBytes\` are wasted. Tables whose statistics are
missing (never analyzed, or a column without \`pg_stats\`) or stale (more than 20% of rows
modified since the last ANALYZE) are left out rather than guessed at. With
\`scan --exact\` and the \`pgstattuple\` extension installed, the figure measured by
\`pgstattuple_approx\` (dead tuples plus free space) replaces the estimate and the evidence
says \`method: 'pgstattuple'\`.

## Fix
\`VACUUM (ANALYZE, VERBOSE)\` removes dead rows and makes their space reusable by new rows,
online (SHARE UPDATE EXCLUSIVE). It does not shrink the file except for empty pages at its
end. When \`heavyShare\` or more is wasted, a manual step names the ways to give the space
back: \`pg_repack\` (online, needs the extension and a primary key or unique index) or
\`VACUUM FULL\`, which rewrites the table under an ACCESS EXCLUSIVE lock that blocks all
reads and writes until it finishes.

## Limits
An estimate: per-column alignment padding inside the row is not modelled, so tables of
many narrow columns of mixed alignment look slightly bloated; \`avg_width\` comes from a
sample; a free-space margin after normal updates is healthy and counts as waste here.
TOAST tables themselves are not estimated. Partitioned tables are judged per partition.
`,
  coverageGap(snapshot, options) {
    const unmeasured = bloatCandidates(snapshot, options.minTableBytes, Infinity).tables.filter((table) => !snapshot.exactBloat?.tables[String(table.oid)]);
    return hiddenStatisticsNote(snapshot, withoutStatistics(snapshot, unmeasured), bloatUnjudged(snapshot, 'their bloat'));
  },
  check(snapshot, options) {
    const catalog = lookup(snapshot);
    const stats = columnStatsMap(snapshot);
    const blockSize = snapshot.server.blockSize;
    return snapshot.tables.flatMap((table): FindingDraft[] => {
      if (table.kind !== 'table' || table.relpages * blockSize < options.minTableBytes) return [];
      const exact = snapshot.exactBloat?.tables[String(table.oid)];
      const estimate = exact ? null : estimateTableBloat(table, stats, blockSize);
      const actualBytes = table.relpages * blockSize;
      const figure = exact ?? estimate;
      if (!figure) return [];
      const wastedBytes = Math.round(figure.wastedBytes);
      const share = figure.share;
      if (share < options.minWastedShare || wastedBytes < options.minWastedBytes) return [];
      const name = qualify(table.schema, table.name);
      const method = exact ? 'pgstattuple' : 'estimate';
      const actions: Action[] = [{ kind: 'vacuum', sql: `VACUUM (ANALYZE, VERBOSE) ${name};`, transactional: false, lock: 'SHARE UPDATE EXCLUSIVE' }];
      if (share >= options.heavyShare) actions.push(reclaimAction(name, wastedBytes));
      return [{
        message: `${table.schema}.${table.name}: about ${formatBytes(wastedBytes)} of ${formatBytes(actualBytes)} (${Math.round(share * 100)}%) is wasted `
          + (exact ? '(measured by pgstattuple_approx).' : '(estimated from catalog statistics).'),
        target: target('table', { schema: table.schema, table: table.name }),
        evidence: {
          method,
          tableBytes: actualBytes,
          expectedBytes: actualBytes - wastedBytes,
          wastedBytes,
          wastedShare: Math.round(share * 1000) / 1000,
          rows: catalog.rowsOf(table),
          rowBytes: estimate?.entryBytes ?? null,
          fillfactor: estimate?.fillfactor ?? null,
          toastedColumns: estimate?.toastedColumns ?? null,
          toastBytes: table.toast ? table.toast.relpages * blockSize : null,
          lastVacuum: table.stats?.lastVacuum ?? table.stats?.lastAutovacuum ?? null,
          exactRequested: snapshot.exactBloat !== undefined,
          exactUnavailable: snapshot.exactBloat?.unavailable ?? null,
        },
        actions,
      }];
    });
  },
});

function reclaimAction(name: string, wastedBytes: number): Action {
  const sql = [
    `-- About ${formatBytes(wastedBytes)} of ${name} is wasted; VACUUM makes it reusable but does not return it to the OS.`,
    '-- To shrink the file, rewrite the table in a maintenance window, with one of:',
    `--   pg_repack --table=${name} (online; needs the pg_repack extension and a primary key or unique index)`,
    `--   VACUUM FULL ${name}; (ACCESS EXCLUSIVE: blocks all reads and writes for the whole rewrite, needs room for a full copy)`,
  ];
  return { kind: 'manual', sql: sql.join('\n'), transactional: false, lock: 'ACCESS EXCLUSIVE' };
}
