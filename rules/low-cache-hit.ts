import { lookup } from '../src/collect/lookup.js';
import type { Snapshot, Table, TableIo } from '../src/collect/snapshot.js';
import { formatBytes, formatCount } from '../src/plan/numbers.js';
import { qualify, quoteLiteral } from '../src/plan/quote.js';
import { defineRule, target, type Action, type FindingDraft } from '../src/rule.js';

export default defineRule({
  id: 'low-cache-hit',
  title: 'Low shared-buffer cache hit ratio',
  category: 'queries',
  severity: 'warning',
  requires: [],
  options: {
    /** Hit ratios below this (0.95 = 95% of block accesses found in shared_buffers) are low. */
    minHitRatio: 0.95,
    /** The database is judged only after this many block accesses (hits + reads), so an idle one is not. */
    minBlockAccesses: 100_000,
    /** Tables judged: the ones with the most blocks read, at most this many. */
    topTables: 5,
    /** … each with at least this many blocks read (heap + index). */
    minTableReads: 1_000,
  },
  docs: `
## What is wrong
Too many of the blocks queries need are not in shared_buffers: the database's hit ratio,
or that of the tables it reads most, is below \`minHitRatio\`.

## Why it hurts
A hit costs a memory lookup; a read is a system call that copies 8 kB from the OS page
cache (microseconds) or waits for the disk (a tenth of a millisecond on SSD, milliseconds
on network storage). At 90% instead of 99%, a query touching 100,000 blocks does 10,000
reads instead of 1,000: ten times the I/O, and latency that swings with what else runs.

## How perfaudit detects it
The database: \`blks_hit / (blks_hit + blks_read)\` from \`pg_stat_database\`, judged once
there were at least \`minBlockAccesses\` accesses. Tables: heap plus index blocks from
\`pg_statio_all_tables\`; the \`topTables\` tables with the most blocks read (at least
\`minTableReads\` each) are judged, each partition on its own. One \`database\` finding when
the database's ratio is low, listing the most-read tables; one \`table\` finding per judged
table whose own ratio is low. Counters are cumulative since the last statistics reset, or
the change over the window with \`--sample\`.

## Fix
A \`manual\` step, because the remedy depends on why blocks are missed. Full reads of a large
table usually come from sequential scans a missing index would avoid (\`perfaudit scan --rules
seq-scan-heavy,missing-index\`). When the working set is larger than shared_buffers, raise
it (commonly about 25% of RAM; it needs a restart) and measure again. After a restart,
\`pg_prewarm\` loads a hot table back into the cache instead of letting the first queries pay.

## Limits
A "read" is any block not found in shared_buffers, even when the OS page cache served it from
memory: a low ratio with fast reads (\`track_io_timing\`) costs less than it looks. Large
sequential scans and VACUUM use a small ring of buffers on purpose, so one big report can
pull the ratio down without any cache being too small. TOAST blocks are not counted for
tables. Statistics since a reset mix old and new behaviour; \`--sample\` shows the present.
A freshly started server reads everything once: judge it after warm-up.
`,
  check(snapshot, options) {
    const catalog = lookup(snapshot);
    const window = snapshot.workload.sampleSeconds === null ? 'since statistics were reset' : `in the ${Math.round(snapshot.workload.sampleSeconds)} s sample`;
    const judged = snapshot.tables
      .filter((table): table is Table & { io: TableIo } => table.kind !== 'partitioned' && table.io !== null && readsOf(table.io) >= options.minTableReads)
      .sort((a, b) => readsOf(b.io) - readsOf(a.io) || `${a.schema}.${a.name}`.localeCompare(`${b.schema}.${b.name}`))
      .slice(0, options.topTables);
    const findings: FindingDraft[] = [];
    const { hit, read } = snapshot.server.databaseBlocks;
    const ratio = hit / (hit + read);
    if (hit + read >= options.minBlockAccesses && ratio < options.minHitRatio) {
      const tops = judged.map((table) => `${table.schema}.${table.name}: ${formatCount(readsOf(table.io))} reads, ${percent(hitRatioOf(table.io))} hits`);
      findings.push({
        message: `${percent(ratio)} of block accesses in database ${snapshot.server.database} were shared-buffer hits ${window} (target ${percent(options.minHitRatio)}): `
          + `${formatCount(read)} blocks (${formatBytes(read * snapshot.server.blockSize)}) were read from outside.`,
        target: target('database', {}),
        evidence: {
          hitRatio: round(ratio),
          hits: hit,
          reads: read,
          sharedBuffersBytes: sharedBuffersBytes(snapshot),
          ...Object.fromEntries(tops.map((text, i) => [`topTable${i + 1}`, text])),
        },
        actions: [manual([
          `-- ${percent(ratio)} hits: ${formatCount(read)} of ${formatCount(hit + read)} block accesses missed shared_buffers (${formatBytes(sharedBuffersBytes(snapshot))}).`,
          ...(tops.length > 0 ? ['-- The tables read most:', ...tops.map((text) => `--   ${text}`)] : []),
          '-- 1. Full reads of large tables usually mean missing indexes:  perfaudit scan --rules seq-scan-heavy,missing-index',
          '-- 2. If the working set outgrows shared_buffers, raise it (commonly about 25% of RAM; needs a restart), then measure again:',
          "--    ALTER SYSTEM SET shared_buffers = '<about 25% of RAM>';",
          '-- 3. After a restart, warm the hot tables with pg_prewarm instead of letting the first queries pay.',
        ])],
      });
    }
    for (const table of judged) {
      const tableRatio = hitRatioOf(table.io);
      if (tableRatio >= options.minHitRatio) continue;
      const name = `${table.schema}.${table.name}`;
      const reads = readsOf(table.io);
      const bytes = table.relpages * snapshot.server.blockSize;
      findings.push({
        message: `${percent(tableRatio)} of block accesses to ${name} (${formatBytes(bytes)}) were shared-buffer hits ${window} (target ${percent(options.minHitRatio)}): `
          + `${formatCount(reads)} blocks read from outside (${formatCount(table.io.heapRead)} heap, ${formatCount(table.io.indexRead)} index).`,
        target: target('table', { schema: table.schema, table: table.name }),
        evidence: {
          hitRatio: round(tableRatio),
          hits: table.io.heapHit + table.io.indexHit,
          reads,
          heapRead: table.io.heapRead,
          heapHit: table.io.heapHit,
          indexRead: table.io.indexRead,
          indexHit: table.io.indexHit,
          tableBytes: bytes,
          rows: catalog.rowsOf(table),
          seqScan: table.stats?.seqScan ?? 0,
        },
        actions: [manual([
          `-- ${name}: ${formatCount(reads)} of ${formatCount(reads + table.io.heapHit + table.io.indexHit)} block accesses missed shared_buffers `
            + `(${formatBytes(sharedBuffersBytes(snapshot))}); the table is ${formatBytes(bytes)}.`,
          `-- 1. ${formatCount(table.stats?.seqScan ?? 0)} sequential scans read it in full; look for missing indexes:  perfaudit scan --rules seq-scan-heavy,missing-index`,
          '-- 2. If it is hot and fits in memory, raise shared_buffers (needs a restart) so it stays cached.',
          '-- 3. After a restart, load it back into the cache:',
          'CREATE EXTENSION IF NOT EXISTS pg_prewarm;',
          `SELECT pg_prewarm(${quoteLiteral(qualify(table.schema, table.name))});`,
        ])],
      });
    }
    return findings;
  },
});

function readsOf(io: TableIo): number {
  return io.heapRead + io.indexRead;
}

function hitRatioOf(io: TableIo): number {
  const hits = io.heapHit + io.indexHit;
  return hits / (hits + readsOf(io));
}

function sharedBuffersBytes(snapshot: Snapshot): number {
  // pg_settings gives shared_buffers in blocks.
  return Number(snapshot.server.settings.shared_buffers ?? 0) * snapshot.server.blockSize;
}

function percent(ratio: number): string {
  return `${(Math.floor(ratio * 1000) / 10).toFixed(1)}%`;
}

function round(ratio: number): number {
  return Math.round(ratio * 10_000) / 10_000;
}

function manual(lines: readonly string[]): Action {
  return { kind: 'manual', sql: lines.join('\n'), transactional: true, lock: null };
}
