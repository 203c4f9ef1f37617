import type { Kysely } from 'kysely';
import { catalogQuery, interner, isoTime, userSchema } from './catalog-query.js';
import type { Column, QualifiedName, Table, TableKind, TableStats } from './snapshot.js';

interface TableRow {
  oid: number;
  schema: string;
  name: string;
  relkind: 'r' | 'p' | 'm';
  relpages: number;
  reltuples: number;
  reloptions: string[];
  frozen_xid_age: number | null;
  min_mxid_age: number | null;
  toast_pages: number | null;
  toast_reloptions: string[] | null;
}

export interface ColumnRow {
  attrelid: number;
  attnum: number;
  name: string;
  type: string;
  not_null: boolean;
  collation: number;
}

interface TableStatsRow {
  relid: number;
  seq_scan: number;
  seq_tup_read: number;
  idx_scan: number | null;
  idx_tup_fetch: number | null;
  n_tup_ins: number;
  n_tup_upd: number;
  n_tup_hot_upd: number;
  n_tup_del: number;
  n_live_tup: number;
  n_dead_tup: number;
  n_mod_since_analyze: number;
  n_ins_since_vacuum: number;
  vacuum_count: number;
  autovacuum_count: number;
  last_vacuum: Date | null;
  last_autovacuum: Date | null;
  last_analyze: Date | null;
  last_autoanalyze: Date | null;
}

interface TableIoRow {
  relid: number;
  heap_blks_read: number;
  heap_blks_hit: number;
  idx_blks_read: number | null;
  idx_blks_hit: number | null;
}

export interface InheritsRow {
  child: number;
  parent: number;
}

const KINDS: Record<TableRow['relkind'], TableKind> = { r: 'table', p: 'partitioned', m: 'matview' };

// Ordinary, partitioned and materialized tables. Ages only where relfrozenxid is kept.
const TABLES_SQL = `
  SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind, c.relpages, c.reltuples::float8 AS reltuples,
         coalesce(c.reloptions, '{}') AS reloptions,
         CASE WHEN c.relkind IN ('r', 'm') THEN age(c.relfrozenxid) END AS frozen_xid_age,
         CASE WHEN c.relkind IN ('r', 'm') THEN mxid_age(c.relminmxid) END AS min_mxid_age,
         t.relpages AS toast_pages, t.reloptions AS toast_reloptions
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
  WHERE c.relkind IN ('r', 'p', 'm') AND ${userSchema('n.nspname')}`;

const COLUMNS_SQL = `
  SELECT a.attrelid, a.attnum, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
         a.attnotnull AS not_null, a.attcollation AS collation
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'm') AND ${userSchema('n.nspname')}
  ORDER BY a.attrelid, a.attnum`;

// Counters as float8: bigint arrives as a string, and these stay far below 2^53.
const TABLE_STATS_SQL = `
  SELECT relid, seq_scan::float8, seq_tup_read::float8, idx_scan::float8, idx_tup_fetch::float8,
         n_tup_ins::float8, n_tup_upd::float8, n_tup_hot_upd::float8, n_tup_del::float8,
         n_live_tup::float8, n_dead_tup::float8, n_mod_since_analyze::float8, n_ins_since_vacuum::float8,
         vacuum_count::float8, autovacuum_count::float8, last_vacuum, last_autovacuum, last_analyze, last_autoanalyze
  FROM pg_stat_all_tables WHERE ${userSchema('schemaname')}`;

const TABLE_IO_SQL = `
  SELECT relid, heap_blks_read::float8, heap_blks_hit::float8, idx_blks_read::float8, idx_blks_hit::float8
  FROM pg_statio_all_tables WHERE ${userSchema('schemaname')}`;

const INHERITS_SQL = `SELECT inhrelid AS child, inhparent AS parent FROM pg_inherits`;

const OTHER_RELATIONS_SQL = `
  SELECT n.nspname AS schema, c.relname AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('v', 'S', 'c', 'f') AND ${userSchema('n.nspname')}`;

export interface TableSources {
  readonly tables: TableRow[];
  readonly columns: ColumnRow[];
  readonly stats: TableStatsRow[];
  readonly io: TableIoRow[];
  readonly inherits: InheritsRow[];
  readonly otherRelations: QualifiedName[];
}

/** Tables, columns, table statistics and I/O, inheritance and other relations' names: six queries, joined in memory. */
export async function queryTableSources(db: Kysely<unknown>): Promise<TableSources> {
  return {
    tables: await catalogQuery<TableRow>(db, TABLES_SQL),
    columns: await catalogQuery<ColumnRow>(db, COLUMNS_SQL),
    stats: await catalogQuery<TableStatsRow>(db, TABLE_STATS_SQL),
    io: await catalogQuery<TableIoRow>(db, TABLE_IO_SQL),
    inherits: await catalogQuery<InheritsRow>(db, INHERITS_SQL),
    otherRelations: await catalogQuery<QualifiedName>(db, OTHER_RELATIONS_SQL),
  };
}

export function buildTables(sources: TableSources): Table[] {
  const columnsByTable = groupBy(sources.columns, (column) => column.attrelid);
  const statsByTable = new Map(sources.stats.map((row) => [row.relid, row]));
  const ioByTable = new Map(sources.io.map((row) => [row.relid, row]));
  const parentOf = new Map(sources.inherits.map((row) => [row.child, row.parent]));
  const intern = interner();
  const toColumn = (row: ColumnRow): Column => ({ attnum: row.attnum, name: intern(row.name), type: intern(row.type), notNull: row.not_null });
  return sources.tables.map((row) => {
    const stats = statsByTable.get(row.oid);
    const io = ioByTable.get(row.oid);
    return {
      oid: row.oid,
      schema: intern(row.schema),
      name: row.name,
      kind: KINDS[row.relkind],
      partitionOf: parentOf.get(row.oid) ?? null,
      relpages: row.relpages,
      reltuples: row.reltuples,
      reloptions: row.reloptions,
      columns: (columnsByTable.get(row.oid) ?? []).map(toColumn),
      stats: stats ? toTableStats(stats) : null,
      io: io ? { heapRead: io.heap_blks_read, heapHit: io.heap_blks_hit, indexRead: io.idx_blks_read ?? 0, indexHit: io.idx_blks_hit ?? 0 } : null,
      toast: row.toast_pages === null ? null : { relpages: row.toast_pages, reloptions: row.toast_reloptions ?? [] },
      frozenXidAge: row.frozen_xid_age,
      minMultiXactAge: row.min_mxid_age,
    };
  });
}

function toTableStats(row: TableStatsRow): TableStats {
  return {
    seqScan: row.seq_scan,
    seqTupRead: row.seq_tup_read,
    idxScan: row.idx_scan ?? 0,
    idxTupFetch: row.idx_tup_fetch ?? 0,
    inserted: row.n_tup_ins,
    updated: row.n_tup_upd,
    hotUpdated: row.n_tup_hot_upd,
    deleted: row.n_tup_del,
    liveTuples: row.n_live_tup,
    deadTuples: row.n_dead_tup,
    modifiedSinceAnalyze: row.n_mod_since_analyze,
    insertedSinceVacuum: row.n_ins_since_vacuum,
    vacuumCount: row.vacuum_count,
    autovacuumCount: row.autovacuum_count,
    lastVacuum: isoTime(row.last_vacuum),
    lastAutovacuum: isoTime(row.last_autovacuum),
    lastAnalyze: isoTime(row.last_analyze),
    lastAutoanalyze: isoTime(row.last_autoanalyze),
  };
}

export function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
