import type { Statement, Table } from '../collect/snapshot.js';
import type { Predicate, TableAccess } from './access.js';
import type { Estimator } from './selectivity.js';

/** One statement's way into a table that an index would serve. */
export interface Use {
  readonly statement: Statement;
  /** Identifies the access within the workload (statement and OR branch / table). */
  readonly key: string;
  /** Fraction of the table's rows the statement reads through the proposed index. */
  readonly selectivity: number;
}

/**
 * A proposed btree index: equality columns, then at most one range or sort column, and
 * for a partial index, constant tests (IS NULL, boolean) that match few rows.
 */
export interface Candidate {
  readonly table: Table;
  /**
   * Equality columns in layers, most selective first within each. Columns of one layer
   * may be reordered; merging splits layers so a shorter candidate stays a prefix.
   */
  readonly layers: ReadonlyArray<readonly number[]>;
  readonly trailing: { readonly attnum: number; readonly kind: 'range' | 'sort' } | null;
  /** The partial index's WHERE terms (null tests and boolean tests), by attnum. */
  readonly partial: readonly Predicate[];
  readonly uses: readonly Use[];
}

export interface CandidateOptions {
  readonly minRows: number;
  readonly maxSelectivity: number;
  readonly partialMaxFraction: number;
}

export type Rejection = 'small table' | 'most of the table' | 'nothing to index';

/** The index that would serve one access best, or why none would. */
export function candidateFor(
  access: TableAccess, key: string, statement: Statement, table: Table, estimate: Estimator, options: CandidateOptions,
): Candidate | Rejection {
  const rows = estimate.rows(table);
  if (rows < options.minRows) return 'small table';
  const selectivity = (p: Predicate) => estimate.predicate(table, p);
  const partial = unique(access.predicates.filter((p) => (p.kind === 'null' || p.kind === 'boolean') && selectivity(p) <= options.partialMaxFraction));
  const inPartial = new Set(partial.map((p) => p.attnum));
  const equalities = bestPerColumn(access.predicates.filter((p) => p.kind === 'equality' && !inPartial.has(p.attnum)), selectivity);
  const eqColumns = new Set(equalities.map((p) => p.attnum));
  const ranges = access.predicates.filter((p) => p.kind === 'range' && !eqColumns.has(p.attnum) && !inPartial.has(p.attnum));
  const range = ranges[0] && ranges.filter((p) => p.attnum === ranges[0]!.attnum).length > 1
    ? { ...ranges[0], bounded: true }
    : ranges[0];
  const sort = access.sortAttnums.find((attnum) => !eqColumns.has(attnum));
  const sortUsable = sort !== undefined && access.sortAttnums.slice(0, access.sortAttnums.indexOf(sort)).every((a) => eqColumns.has(a));
  const trailing = range ? { attnum: range.attnum, kind: 'range' as const } : sortUsable ? { attnum: sort, kind: 'sort' as const } : null;
  if (equalities.length === 0 && !trailing) return 'nothing to index';

  let fraction = estimate.all(table, [...equalities, ...partial, ...(range ? [range] : [])]);
  // In the sort's order the scan stops after the LIMIT: about the rows each call returns.
  if (trailing?.kind === 'sort') fraction = Math.min(fraction, Math.max(1, statement.rows / Math.max(1, statement.calls)) / rows);
  const rowsPerCall = statement.rows / Math.max(1, statement.calls);
  if (fraction > options.maxSelectivity || rowsPerCall > options.maxSelectivity * rows) return 'most of the table';
  return {
    table,
    layers: equalities.length ? [equalities.map((p) => p.attnum)] : [],
    trailing,
    partial: [...partial].sort((a, b) => a.attnum - b.attnum),
    uses: [{ statement, key, selectivity: fraction }],
  };
}

// One predicate per column, the most selective; the list ordered most selective first.
function bestPerColumn(predicates: readonly Predicate[], selectivity: (p: Predicate) => number): Predicate[] {
  const best = new Map<number, Predicate>();
  for (const p of predicates) {
    const seen = best.get(p.attnum);
    if (!seen || selectivity(p) < selectivity(seen)) best.set(p.attnum, p);
  }
  return [...best.values()].sort((a, b) => selectivity(a) - selectivity(b) || a.attnum - b.attnum);
}

function unique(predicates: readonly Predicate[]): Predicate[] {
  return [...new Map(predicates.map((p) => [p.attnum, p])).values()];
}

/** The index's columns in order. */
export function indexColumns(candidate: Candidate): number[] {
  return [...candidate.layers.flat(), ...(candidate.trailing ? [candidate.trailing.attnum] : [])];
}
