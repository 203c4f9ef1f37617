import type { Kysely } from 'kysely';
import { catalogQuery, userSchema } from './catalog-query.js';
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
const COLUMN_STATS_SQL = `
  SELECT schemaname AS schema, tablename AS table, attname AS column, inherited, null_frac, avg_width, n_distinct,
         correlation, most_common_freqs::float8[] AS most_common_freqs, most_common_vals::text AS most_common_vals
  FROM pg_stats WHERE ${userSchema('schemaname')}`;

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
      mostCommonFreqs: row.most_common_freqs ?? [],
      mostCommonValues: column.type === 'boolean' && row.most_common_vals ? row.most_common_vals.replace(/^\{|\}$/g, '').split(',') : null,
    }];
  });
}
