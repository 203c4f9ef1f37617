import { groupBy } from './tables.js';
import type { Index, Snapshot, Table } from './snapshot.js';

/** Oid lookups over one snapshot, built once per snapshot and shared by all rules. */
export interface Lookup {
  table(oid: number): Table | undefined;
  index(oid: number): Index | undefined;
  indexesOf(tableOid: number): readonly Index[];
  /** Direct partitions of a partitioned table. */
  partitionsOf(tableOid: number): readonly Table[];
  /** Indexes attached to a partitioned index. */
  childIndexes(indexOid: number): readonly Index[];
  columnName(tableOid: number, attnum: number): string;
  /** Relation names already taken in a schema (tables, indexes, views, sequences, …). */
  relationNames(schema: string): ReadonlySet<string>;
  /** Leaf tables holding a table's rows: the table itself, or all leaf partitions. */
  leavesOf(table: Table): readonly Table[];
  /** Estimated rows (planner estimate, else live tuples), summed over partitions. */
  rowsOf(table: Table): number;
}

const cache = new WeakMap<Snapshot, Lookup>();

export function lookup(snapshot: Snapshot): Lookup {
  let built = cache.get(snapshot);
  if (!built) {
    built = buildLookup(snapshot);
    cache.set(snapshot, built);
  }
  return built;
}

function buildLookup(snapshot: Snapshot): Lookup {
  const tables = new Map(snapshot.tables.map((table) => [table.oid, table]));
  const indexes = new Map(snapshot.indexes.map((index) => [index.oid, index]));
  const indexesByTable = groupBy(snapshot.indexes, (index) => index.tableOid);
  const partitions = groupBy(snapshot.tables.filter((table) => table.partitionOf !== null), (table) => table.partitionOf);
  const childIndexes = groupBy(snapshot.indexes.filter((index) => index.parentIndexOid !== null), (index) => index.parentIndexOid);
  const names = groupBy([...snapshot.tables, ...snapshot.indexes, ...snapshot.otherRelationNames], (relation) => relation.schema);
  const namesBySchema = new Map([...names].map(([schema, relations]) => [schema, new Set(relations.map((r) => r.name))]));
  const leavesOf = (table: Table): Table[] =>
    table.kind === 'partitioned' ? (partitions.get(table.oid) ?? []).flatMap(leavesOf) : [table];
  return {
    leavesOf,
    rowsOf: (table) => leavesOf(table).reduce((sum, leaf) => sum + leafRows(leaf), 0),
    table: (oid) => tables.get(oid),
    index: (oid) => indexes.get(oid),
    indexesOf: (oid) => indexesByTable.get(oid) ?? [],
    partitionsOf: (oid) => partitions.get(oid) ?? [],
    childIndexes: (oid) => childIndexes.get(oid) ?? [],
    // A table's few columns searched in place: a map of every column of a large catalog costs more.
    columnName: (tableOid, attnum) => tables.get(tableOid)?.columns.find((column) => column.attnum === attnum)?.name ?? `#${attnum}`,
    relationNames: (schema) => namesBySchema.get(schema) ?? new Set(),
  };
}

// The planner's estimate, maintained by VACUUM and ANALYZE, is the steadier figure (live
// tuple counters lag and double-count around an ANALYZE). Before the first VACUUM or
// ANALYZE it is -1 (PG14+) or 0 with no pages (PG13): then live tuples fill the gap.
function leafRows(table: Table): number {
  const estimated = table.reltuples > 0 || (table.reltuples === 0 && table.relpages > 0);
  return estimated ? table.reltuples : (table.stats?.liveTuples ?? 0);
}
