/**
 * Size arithmetic for the bloat estimates: how many pages a table or btree index would
 * take if packed as PostgreSQL packs fresh data, from catalog statistics alone
 * (reltuples, pg_stats avg_width and null_frac, fillfactor, block size).
 */
import type { ColumnStats, Index, Snapshot, Table } from './snapshot.js';

export const MAXALIGN = 8;
/** HeapTupleHeaderData without the null bitmap (t_hoff before alignment). */
export const HEAP_TUPLE_HEADER = 23;
/** PageHeaderData. */
export const PAGE_HEADER = 24;
/** ItemIdData: one line pointer per tuple. */
export const LINE_POINTER = 4;
/** IndexTupleData: t_tid + t_info. */
export const INDEX_TUPLE_HEADER = 8;
/** BTPageOpaqueData, the btree special space at the end of every page. */
export const BTREE_SPECIAL = 16;
/** Values wider than about this are compressed or moved out of line (TOAST_TUPLE_THRESHOLD ≈ 2 kB). */
export const TOAST_THRESHOLD = 2000;
/** What an out-of-line value leaves in the heap: a varatt_external pointer. */
export const TOAST_POINTER = 18;

export const align = (bytes: number, to = MAXALIGN): number => Math.ceil(bytes / to) * to;

/** A `fillfactor=NN` reloption, else the access method's default. */
export function fillfactorOf(reloptions: readonly string[], fallback: number): number {
  const option = reloptions.find((o) => o.startsWith('fillfactor='));
  const value = option ? Number(option.slice('fillfactor='.length)) : NaN;
  return Number.isFinite(value) && value > 0 && value <= 100 ? value : fallback;
}

/** In-heap width of one column value: average width minus NULLs, TOASTed values as their pointer. */
export function storedWidth(stats: ColumnStats): number {
  const width = stats.avgWidth > TOAST_THRESHOLD ? Math.min(stats.avgWidth, TOAST_POINTER) : stats.avgWidth;
  return width * (1 - stats.nullFrac);
}

/** Why a table's statistics cannot support an estimate (null when they can). */
export function statisticsProblem(table: Table, stats: ReadonlyMap<string, ColumnStats>, staleShare = 0.2): string | null {
  if (!table.stats || (table.stats.lastAnalyze === null && table.stats.lastAutoanalyze === null)) return 'never analyzed';
  if (table.reltuples < 0) return 'no row estimate';
  if (table.columns.some((column) => !stats.has(`${table.oid}:${column.attnum}`))) return 'columns without pg_stats';
  if (table.stats.modifiedSinceAnalyze > staleShare * Math.max(table.reltuples, 1)) return 'statistics are stale';
  return null;
}

const statsMaps = new WeakMap<Snapshot, ReadonlyMap<string, ColumnStats>>();

/** Column statistics by `tableOid:attnum`, built once per snapshot and shared by the rules that need them. */
export function columnStatsMap(snapshot: Snapshot): ReadonlyMap<string, ColumnStats> {
  let map = statsMaps.get(snapshot);
  if (!map) {
    map = new Map(snapshot.columnStats.map((s) => [`${s.tableOid}:${s.attnum}`, s]));
    statsMaps.set(snapshot, map);
  }
  return map;
}

export interface BloatEstimate {
  readonly actualBytes: number;
  readonly expectedBytes: number;
  readonly wastedBytes: number;
  /** Wasted bytes over actual bytes, 0..1; never negative. */
  readonly share: number;
  /** Bytes per row or index entry, line pointer included. */
  readonly entryBytes: number;
  readonly fillfactor: number;
  /** Columns counted as out-of-line TOAST pointers. */
  readonly toastedColumns: number;
}

function result(actualPages: number, expectedPages: number, blockSize: number, entryBytes: number, fillfactor: number, toastedColumns: number): BloatEstimate {
  const actualBytes = actualPages * blockSize;
  const expectedBytes = Math.min(actualPages, expectedPages) * blockSize;
  const wastedBytes = actualBytes - expectedBytes;
  return { actualBytes, expectedBytes, wastedBytes, share: actualBytes > 0 ? wastedBytes / actualBytes : 0, entryBytes, fillfactor, toastedColumns };
}

/** Heap estimate; null when the statistics cannot support one. */
export function estimateTableBloat(table: Table, stats: ReadonlyMap<string, ColumnStats>, blockSize: number): BloatEstimate | null {
  if (statisticsProblem(table, stats) !== null) return null;
  const columns = table.columns.map((column) => stats.get(`${table.oid}:${column.attnum}`)!);
  const bitmap = columns.some((c) => c.nullFrac > 0) ? Math.ceil(table.columns.length / 8) : 0;
  const header = align(HEAP_TUPLE_HEADER + bitmap);
  const data = columns.reduce((sum, c) => sum + storedWidth(c), 0);
  const tuple = align(header + data) + LINE_POINTER;
  const fillfactor = fillfactorOf(table.reloptions, 100);
  // Inserts stop filling a page when less than (100 - fillfactor)% of the block stays free.
  const usable = blockSize - PAGE_HEADER - Math.floor((blockSize * (100 - fillfactor)) / 100);
  const maxPerPage = Math.floor((blockSize - PAGE_HEADER) / (align(HEAP_TUPLE_HEADER) + LINE_POINTER));
  const perPage = Math.max(1, Math.min(maxPerPage, Math.floor(usable / tuple)));
  const expectedPages = Math.ceil(table.reltuples / perPage);
  return result(table.relpages, expectedPages, blockSize, tuple, fillfactor, columns.filter((c) => c.avgWidth > TOAST_THRESHOLD).length);
}

/** Btree estimate over the table's column statistics; null for expression or partial indexes, or without statistics. */
export function estimateBtreeBloat(index: Index, table: Table, stats: ReadonlyMap<string, ColumnStats>, blockSize: number): BloatEstimate | null {
  if (index.method !== 'btree' || index.predicate !== null || statisticsProblem(table, stats) !== null) return null;
  const attnums = [...index.keys.map((key) => key.attnum), ...index.include];
  if (attnums.some((attnum) => attnum === 0)) return null;
  const columns = attnums.map((attnum) => stats.get(`${table.oid}:${attnum}`)!);
  const tuple = align(INDEX_TUPLE_HEADER + columns.reduce((sum, c) => sum + storedWidth(c), 0)) + LINE_POINTER;
  const fillfactor = fillfactorOf(index.reloptions, 90);
  const usable = ((blockSize - PAGE_HEADER - BTREE_SPECIAL) * fillfactor) / 100;
  const perPage = Math.max(1, Math.floor(usable / tuple));
  const leaves = Math.ceil(table.reltuples / perPage);
  // One metapage, and upper levels with about one downlink per leaf. A btree page holds
  // at least three entries, so each level is narrower, even when statistics say the
  // entries are wider than a page.
  const fanout = Math.max(3, perPage);
  let internal = 0;
  for (let level = leaves; level > 1; level = Math.ceil(level / fanout)) internal += Math.ceil(level / fanout);
  return result(index.relpages, 1 + leaves + internal, blockSize, tuple, fillfactor, 0);
}
