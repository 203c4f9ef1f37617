import type { Lookup } from './lookup.js';
import type { ForeignKey, Index, Table } from './snapshot.js';

/**
 * Whether a foreign key has an index that serves its checks: on the table itself, or
 * for a partitioned table, on every leaf partition.
 */
export function isForeignKeyCovered(fk: ForeignKey, table: Table, catalog: Lookup): boolean {
  if (catalog.indexesOf(table.oid).some((index) => coversForeignKey(index, fk, catalog))) return true;
  if (table.kind !== 'partitioned') return false;
  const leaves = catalog.leavesOf(table);
  return leaves.length > 0 && leaves.every((leaf) => catalog.indexesOf(leaf.oid).some((index) => coversColumns(index, fk.columns, catalog, leaf)));
}

/** Whether this index serves the FK's checks. */
export function coversForeignKey(index: Index, fk: ForeignKey, catalog: Lookup): boolean {
  const table = catalog.table(index.tableOid);
  return table !== undefined && coversColumns(index, fk.columns, catalog, table);
}

/** The index's leading keys are exactly these columns (as a set) and it is usable. */
export function coversColumns(index: Index, columns: readonly number[], catalog: Lookup, table: Table): boolean {
  if (!index.valid || !index.ready) return false;
  if (index.method === 'hash') {
    return columns.length === 1 && index.keys[0]?.attnum === columns[0] && predicateAllows(index, columns, catalog, table);
  }
  if (index.method !== 'btree' || index.keys.length < columns.length || !columns.includes(index.keys[0]?.attnum ?? 0)) return false;
  const leading = new Set(index.keys.slice(0, columns.length).map((key) => key.attnum));
  return columns.every((attnum) => attnum !== 0 && leading.has(attnum)) && leading.size === columns.length
    && predicateAllows(index, columns, catalog, table);
}

// A partial index serves FK checks only when it leaves out nothing but NULL keys.
function predicateAllows(index: Index, columns: readonly number[], catalog: Lookup, table: Table): boolean {
  if (index.predicate === null) return true;
  const names = new Set(columns.map((attnum) => catalog.columnName(table.oid, attnum)));
  return index.predicate.split(' AND ').every((conjunct) => {
    const match = /^\(*("(?:[^"]|"")+"|[^\s"()]+) IS NOT NULL\)*$/.exec(conjunct.trim());
    const column = match?.[1];
    if (!column) return false;
    return names.has(column.startsWith('"') ? column.slice(1, -1).replaceAll('""', '"') : column);
  });
}

/**
 * Indexes that are the only support of some foreign key: dropping one would leave that
 * FK unindexed, so redundant- and unused-index findings must spare them.
 */
export function soleForeignKeyIndexes(foreignKeys: readonly ForeignKey[], catalog: Lookup): ReadonlySet<number> {
  const sole = new Set<number>();
  for (const fk of foreignKeys) {
    const covering = catalog.indexesOf(fk.tableOid).filter((index) => coversForeignKey(index, fk, catalog));
    if (covering.length === 1 && covering[0]) sole.add(covering[0].oid);
  }
  return sole;
}
