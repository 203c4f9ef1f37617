import { lookup, type Lookup } from './lookup.js';
import type { Index, IndexKey, QualifiedName, Snapshot } from './snapshot.js';

/**
 * What duplicate-index and redundant-index share: when two index keys are the same key,
 * which indexes may be compared at all, which must never be dropped on their own, and
 * which of several interchangeable indexes to keep.
 */
export interface IndexComparison {
  readonly catalog: Lookup;
  /** Valid, ready, live indexes not being built or rebuilt right now. */
  readonly usable: readonly Index[];
  /** Backs a constraint, is the unique index an FK depends on, or is attached to a partitioned index. */
  mustKeep(index: Index): boolean;
  /** Orders indexes best-to-keep first: must-keep, unique, most scanned, then by name. */
  keepOrder(a: Index, b: Index): number;
  scans(index: Index): number;
  bytes(index: Index): number;
  /** Key column names, or the deparsed expression for expression keys. */
  columns(index: Index): string[];
}

const comparisons = new WeakMap<Snapshot, IndexComparison>();

/** Built once per snapshot and shared by duplicate-index and redundant-index. */
export function compareIndexes(snapshot: Snapshot): IndexComparison {
  let comparison = comparisons.get(snapshot);
  if (!comparison) {
    comparison = buildComparison(snapshot);
    comparisons.set(snapshot, comparison);
  }
  return comparison;
}

function buildComparison(snapshot: Snapshot): IndexComparison {
  const catalog = lookup(snapshot);
  const referenced = new Set(snapshot.foreignKeys.map((fk) => fk.referencedIndexOid));
  const building = new Set(snapshot.indexesInProgress);
  // Dropping a replica identity index silently stops logical replication of UPDATE and DELETE.
  const mustKeep = (index: Index) => index.constraint !== null || referenced.has(index.oid) || index.parentIndexOid !== null
    || index.replicaIdentity || index.clustered;
  // A partitioned index has no storage and no scan counter of its own: its partitions' indexes do.
  const children = (index: Index) => catalog.childIndexes(index.oid);
  const isPartitioned = (index: Index) => catalog.table(index.tableOid)?.kind === 'partitioned';
  const scans = (index: Index): number =>
    isPartitioned(index) ? children(index).reduce((sum, child) => sum + scans(child), 0) : (index.stats?.scans ?? 0);
  const bytes = (index: Index): number =>
    index.relpages * snapshot.server.blockSize + (isPartitioned(index) ? children(index).reduce((sum, child) => sum + bytes(child), 0) : 0);
  return {
    catalog,
    usable: snapshot.indexes.filter((index) => index.valid && index.ready && index.live && !building.has(index.oid)),
    mustKeep,
    keepOrder: (a, b) => Number(mustKeep(b)) - Number(mustKeep(a)) || Number(b.unique) - Number(a.unique)
      || scans(b) - scans(a) || byCodePoint(a.name, b.name),
    scans,
    bytes,
    columns: (index) => index.keys.map((key) => key.expression ?? catalog.columnName(index.tableOid, key.attnum)),
  };
}

/** Same column or expression, operator class, collation and sort order: the key orders and matches alike. */
export function sameKey(a: IndexKey, b: IndexKey): boolean {
  return a.attnum === b.attnum && a.expression === b.expression && sameName(a.opclass, b.opclass)
    && sameName(a.collation, b.collation) && a.descending === b.descending && a.nullsFirst === b.nullsFirst;
}

/**
 * Everything but uniqueness that decides which queries an index can serve; equal
 * signatures mean interchangeable indexes. INCLUDE columns compare as a set (their order
 * changes nothing), predicates as PostgreSQL deparses them. Storage parameters count for
 * methods where they change the index's content (BRIN's pages_per_range, bloom's
 * signature length), not for btree and hash, where they only tune its upkeep.
 */
export function indexSignature(index: Index): string {
  const keys = index.keys.map((key) => [key.attnum, key.expression, key.opclass, key.collation, key.descending, key.nullsFirst]);
  const storage = index.method === 'btree' || index.method === 'hash' ? [] : [...index.reloptions].sort();
  return JSON.stringify([index.tableOid, index.method, keys, [...index.include].sort((a, b) => a - b), index.predicate, storage]);
}

/** Whether keeping `kept` alone still enforces every uniqueness rule `dropped` enforces. */
export function enforcesUniquenessOf(kept: Index, dropped: Index): boolean {
  return !dropped.unique || (kept.unique && kept.nullsNotDistinct === dropped.nullsNotDistinct);
}

function sameName(a: QualifiedName | null, b: QualifiedName | null): boolean {
  return a?.schema === b?.schema && a?.name === b?.name;
}

// Locale-independent, so the same snapshot keeps the same index on every machine.
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
