import type { Kysely } from 'kysely';
import { catalogQuery } from './catalog-query.js';
import type { ColumnStats, Table } from './snapshot.js';

interface ColumnStatsRow {
  schema: string;
  table: string;
  column: string;
  inherited: boolean;
  null_frac: number;
  avg_width: number;
  n_distinct: number;
  correlation: number | null;
  most_common_freqs: number[] | null;
  most_common_vals: string | null;
}

// pg_stats read alone and joined to tables in memory: joined by name in SQL, the planner
// misestimates it and nested-loops at scale. It shows only columns the role may read.
// Unfiltered, because any schema filter is pushed below the view's join and makes the
// planner check column privileges on every pg_attribute row, indexes' included, before
// meeting pg_statistic (5 s instead of 1.5 s at 10,000 tables); the join to the snapshot's
// tables drops system schemas. Values are read for boolean columns only (1 byte wide):
// the text of every column's most common values can run to megabytes. Frequencies as JSON,
// which JSON.parse sizes exactly (see indexes.ts).
const COLUMN_STATS_SQL = `
  SELECT schemaname AS schema, tablename AS table, attname AS column, inherited, null_frac, avg_width, n_distinct,
         correlation, to_json(most_common_freqs::float8[]) AS most_common_freqs,
         CASE WHEN avg_width = 1 THEN most_common_vals::text END AS most_common_vals
  FROM pg_stats`;

// Shared by the many columns without most common values, instead of one empty array each.
const NO_FREQUENCIES: readonly number[] = [];

export async function queryColumnStats(db: Kysely<unknown>): Promise<ColumnStatsRow[]> {
  return catalogQuery<ColumnStatsRow>(db, COLUMN_STATS_SQL);
}

/**
 * Column statistics by table oid and attnum. A partitioned table has only inherited
 * (whole-tree) statistics; other tables use their own. Values are dropped except for
 * boolean columns, so table data never reaches a snapshot file.
 */
export function buildColumnStats(rows: readonly ColumnStatsRow[], tables: readonly Table[]): ColumnStats[] {
  const byName = new Map(tables.map((table) => [`${table.schema}\u0000${table.name}`, table]));
  return rows.flatMap((row) => {
    const table = byName.get(`${row.schema}\u0000${row.table}`);
    const column = table?.columns.find((candidate) => candidate.name === row.column);
    if (!table || !column || row.inherited !== (table.kind === 'partitioned')) return [];
    return [{
      tableOid: table.oid,
      attnum: column.attnum,
      nullFrac: row.null_frac,
      avgWidth: row.avg_width,
      nDistinct: row.n_distinct,
      correlation: row.correlation,
      mostCommonFreqs: row.most_common_freqs ?? NO_FREQUENCIES,
      mostCommonValues: column.type === 'boolean' && row.most_common_vals ? row.most_common_vals.replace(/^\{|\}$/g, '').split(',') : null,
    }];
  });
}
