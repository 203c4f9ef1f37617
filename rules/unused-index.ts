import { coversForeignKey } from '../src/collect/fk-coverage.js';
import { lookup, type Lookup } from '../src/collect/lookup.js';
import type { Index, Snapshot } from '../src/collect/snapshot.js';
import { dropIndexAction } from '../src/plan/index-ddl.js';
import { formatBytes, formatCount } from '../src/plan/numbers.js';
import { defineRule, target, type FindingDraft } from '../src/rule.js';

const DAY_MS = 86_400_000;

export default defineRule({
  id: 'unused-index',
  title: 'Index never used by queries',
  category: 'indexes',
  severity: 'info',
  requires: [],
  options: {
    /** Statistics younger than this cannot tell an unused index from a rarely used one: the rule is skipped. */
    minStatsAgeDays: 7,
    /** PostgreSQL 16+: an index not scanned for this many days is reported even if it was scanned before. */
    minIdleDays: 45,
  },
  docs: `
## What is wrong
A plain (non-unique, constraint-free) index that no query has scanned since statistics began.

## Why it hurts
Every INSERT, every non-HOT UPDATE and every VACUUM maintains every index: on a write-heavy
table each extra index adds roughly one random page write per row written, takes disk and
cache space, lengthens VACUUM, and its presence alone stops UPDATEs from being HOT when it
covers an updated column. A 5 GB index nobody reads is 5 GB of cache and WAL spent for nothing.

## How perfaudit detects it
\`idx_scan = 0\` in \`pg_stat_all_indexes\` (for a partitioned index, summed over its
partitions' indexes), or, on PostgreSQL 16+, a \`last_idx_scan\` more than \`minIdleDays\`
ago. Spared: unique and primary-key indexes and any index backing a constraint (they enforce
something), invalid or unfinished indexes (see invalid-index), partitions' indexes attached to
a partitioned index (judged at the parent), and the last index supporting a foreign key (when
several unused indexes cover one FK, the narrowest is kept).

Counters start at the last statistics reset, or at server start when never reset. Until they
are \`minStatsAgeDays\` old (measured at snapshot time) the rule is skipped, with the age in
the reason.

## Fix
\`DROP INDEX CONCURRENTLY IF EXISTS\` (a plain DROP for a partitioned index, which refuses
CONCURRENTLY). The action's undo is the \`CREATE INDEX CONCURRENTLY\` that rebuilds it.
Severity is \`info\`: dropping is cheap to undo but the evidence is circumstantial.

## Limits
Statistics are per server: an index used only by queries on a read replica shows zero scans
on the primary, so check replicas before dropping. Weekly, monthly or yearly jobs may not have
run within the window. An index created recently has had little time to be used, and a
database created after the server started has younger counters than perfaudit assumes
(neither age is in the catalog). Statistics lost in a crash restart start again from zero.
An unscanned expression index may still feed the planner's statistics for that expression.
`,
  skipReason(snapshot, options) {
    const { ageDays, since } = statisticsAge(snapshot);
    if (ageDays >= options.minStatsAgeDays) return null;
    return `statistics are ${ageDays.toFixed(1)} days old (since ${since}); unused-index needs at least ${options.minStatsAgeDays} days (option minStatsAgeDays)`;
  },
  check(snapshot, options) {
    const catalog = lookup(snapshot);
    const at = Date.parse(snapshot.collectedAt);
    const { ageDays } = statisticsAge(snapshot);
    const usage = new Map(snapshot.indexes.filter(isCandidate).map((index) => [index.oid, usageOf(index, catalog, snapshot.server.blockSize)]));
    const idle = new Set([...usage].filter(([, use]) => use.known && (use.scans === 0
      || (use.lastScan !== null && at - Date.parse(use.lastScan) >= options.minIdleDays * DAY_MS))).map(([oid]) => oid));
    keepForeignKeySupport(idle, snapshot, catalog, (oid) => usage.get(oid)?.bytes ?? 0);
    return snapshot.indexes.filter((index) => idle.has(index.oid)).flatMap((index): FindingDraft[] => {
      const table = catalog.table(index.tableOid);
      const use = usage.get(index.oid);
      if (!table || !use) return [];
      const idleText = use.scans === 0
        ? `has not been scanned in ${ageDays.toFixed(1)} days of statistics`
        : `was last scanned ${((at - Date.parse(use.lastScan ?? '')) / DAY_MS).toFixed(0)} days ago (${formatCount(use.scans)} scans in ${ageDays.toFixed(0)} days)`;
      return [{
        message: `${index.schema}.${index.name} on ${table.schema}.${table.name} (${formatBytes(use.bytes)}) ${idleText}, yet every write maintains it.`,
        target: target('index', {
          schema: table.schema, table: table.name, name: index.name,
          columns: index.keys.map((key) => key.expression ?? catalog.columnName(index.tableOid, key.attnum)),
        }),
        evidence: { sizeBytes: use.bytes, scans: use.scans, statsAgeDays: Math.round(ageDays * 10) / 10, lastScan: use.lastScan },
        actions: [dropIndexAction(index, table, catalog)],
      }];
    });
  },
});

function isCandidate(index: Index): boolean {
  return index.valid && index.ready && index.live && !index.unique && index.constraint === null && index.parentIndexOid === null
    && !index.replicaIdentity && !index.clustered;
}

/** Statistics age at snapshot time: since the last reset, or the server start if never reset. */
function statisticsAge(snapshot: Snapshot): { ageDays: number; since: string } {
  const since = snapshot.server.statsResetAt ?? snapshot.server.startedAt;
  return { ageDays: (Date.parse(snapshot.collectedAt) - Date.parse(since)) / DAY_MS, since };
}

interface Usage {
  /** Every index holding the scans has statistics (a partitioned index needs at least one partition). */
  readonly known: boolean;
  readonly scans: number;
  readonly lastScan: string | null;
  readonly bytes: number;
}

// A partitioned index has no storage or counters of its own: its partitions' indexes do.
function usageOf(index: Index, catalog: Lookup, blockSize: number): Usage {
  const leaves = (parent: Index): Index[] => catalog.table(parent.tableOid)?.kind === 'partitioned'
    ? catalog.childIndexes(parent.oid).flatMap(leaves)
    : [parent];
  const all = leaves(index);
  const lastScans = all.map((leaf) => leaf.stats?.lastScan ?? null);
  return {
    known: all.length > 0 && all.every((leaf) => leaf.stats !== null),
    scans: all.reduce((sum, leaf) => sum + (leaf.stats?.scans ?? 0), 0),
    lastScan: lastScans.reduce<string | null>((latest, scan) => (scan !== null && (latest === null || scan > latest) ? scan : latest), null),
    bytes: all.reduce((sum, leaf) => sum + leaf.relpages * blockSize, 0),
  };
}

/**
 * Keeps the narrowest of the indexes supporting a foreign key when all of them look unused:
 * dropping them all would leave the FK unindexed (see missing-fk-index).
 */
function keepForeignKeySupport(idle: Set<number>, snapshot: Snapshot, catalog: Lookup, bytes: (oid: number) => number): void {
  for (const fk of snapshot.foreignKeys) {
    const covering = catalog.indexesOf(fk.tableOid).filter((index) => coversForeignKey(index, fk, catalog));
    if (covering.length === 0 || !covering.every((index) => idle.has(index.oid))) continue;
    const narrowestFirst = (a: Index, b: Index) => a.keys.length - b.keys.length || bytes(a.oid) - bytes(b.oid) || (a.name < b.name ? -1 : 1);
    const keep = [...covering].sort(narrowestFirst)[0];
    if (keep) idle.delete(keep.oid);
  }
}
