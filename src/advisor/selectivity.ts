import type { Lookup } from '../collect/lookup.js';
import { columnStatsMap } from '../collect/row-width.js';
import type { ColumnStats, Snapshot, Table } from '../collect/snapshot.js';
import type { Predicate } from './access.js';

// The planner's own defaults when it has no statistics (selfuncs.h).
const DEFAULT_EQ_SEL = 0.005;
const DEFAULT_INEQ_SEL = 1 / 3;
const DEFAULT_RANGE_INEQ_SEL = 0.005;
const DEFAULT_NULL_SEL = 0.005;
/** `col = ANY($1)`: the array's length is unknown; the planner's guess for a parameter array. */
const ASSUMED_ARRAY_LENGTH = 10;

/** Estimated fraction of a table's rows that predicates match, from `pg_stats`. */
export interface Estimator {
  /** Fraction of rows one predicate matches. */
  predicate(table: Table, predicate: Predicate): number;
  /** Fraction of rows all of these match, taken as independent (as the planner does). */
  all(table: Table, predicates: readonly Predicate[]): number;
  rows(table: Table): number;
}

/**
 * Statements come normalized (`col = $1`), so estimates are what a generic plan assumes
 * for an unknown value: an equality matches an average value's share of the rows
 * (non-null fraction / n_distinct), a one-sided range a third, a two-sided one 0.5%.
 * `IS NULL` and boolean tests keep their constant, so they use null_frac and the
 * most-common-value frequencies.
 */
export function estimator(snapshot: Snapshot, catalog: Lookup): Estimator {
  const stats = columnStatsMap(snapshot);
  const statsOf = (table: Table, attnum: number): ColumnStats | undefined =>
    stats.get(`${table.oid}:${attnum}`) ?? stats.get(`${catalog.leavesOf(table)[0]?.oid}:${attnum}`);
  const predicate = (table: Table, p: Predicate): number => {
    const s = statsOf(table, p.attnum);
    switch (p.kind) {
      case 'equality': {
        const one = s ? equalitySelectivity(s, catalog.rowsOf(table)) : DEFAULT_EQ_SEL;
        return p.via === 'list' ? Math.min(1, one * (p.listLength ?? ASSUMED_ARRAY_LENGTH)) : one;
      }
      case 'range':
        return p.bounded ? DEFAULT_RANGE_INEQ_SEL : DEFAULT_INEQ_SEL;
      case 'null':
        if (!s) return p.isNull ? DEFAULT_NULL_SEL : 1 - DEFAULT_NULL_SEL;
        return p.isNull ? s.nullFrac : 1 - s.nullFrac;
      case 'boolean':
        return s ? booleanFrequency(s, p.value) : 0.5;
    }
  };
  return {
    predicate,
    all: (table, predicates) => predicates.reduce((product, p) => product * predicate(table, p), 1),
    rows: (table) => catalog.rowsOf(table),
  };
}

function equalitySelectivity(stats: ColumnStats, rows: number): number {
  const distinct = stats.nDistinct >= 0 ? stats.nDistinct : -stats.nDistinct * rows;
  return distinct > 0 ? (1 - stats.nullFrac) / Math.max(1, distinct) : DEFAULT_EQ_SEL;
}

function booleanFrequency(stats: ColumnStats, value: boolean): number {
  const values = stats.mostCommonValues ?? [];
  const index = values.indexOf(value ? 't' : 'f');
  if (index >= 0) return stats.mostCommonFreqs[index] ?? 0.5;
  // The other value is listed (or none is): this one has what is left.
  const listed = stats.mostCommonFreqs.reduce((sum, freq) => sum + freq, 0);
  return values.length > 0 ? Math.max(0, 1 - stats.nullFrac - listed) : 0.5;
}
