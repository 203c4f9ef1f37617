/**
 * What the advisor learns from one statement: per table it reads, the predicates an
 * index could serve. Columns are attnums of the resolved table.
 */

/** A condition on one column that a btree index can use (or a partial index can be built on). */
export type Predicate =
  /** `col = $1` (constant), `a.col = b.col` (join key), `col IN (…)` / `col = ANY($1)` (list). */
  | { readonly kind: 'equality'; readonly attnum: number; readonly via: 'constant' | 'join' | 'list'; readonly listLength: number | null }
  /** `col > $1`, `col BETWEEN $1 AND $2` (bounded: both ends). */
  | { readonly kind: 'range'; readonly attnum: number; readonly bounded: boolean }
  /** `col IS NULL` / `col IS NOT NULL`. */
  | { readonly kind: 'null'; readonly attnum: number; readonly isNull: boolean }
  /** A boolean column tested against a constant the text still shows: `col`, `NOT col`, `col IS TRUE`. */
  | { readonly kind: 'boolean'; readonly attnum: number; readonly value: boolean };

/** One way a statement reads one table: a conjunction of predicates (one per OR branch). */
export interface TableAccess {
  readonly tableOid: number;
  readonly predicates: readonly Predicate[];
  /** The leading ORDER BY columns on this table when the statement has a LIMIT: an index in that order stops early. */
  readonly sortAttnums: readonly number[];
}

/** Columns an UPDATE sets: indexing any of them turns its HOT updates into index writes. */
export interface UpdatedColumns {
  readonly tableOid: number;
  readonly attnums: readonly number[];
}

export interface StatementShape {
  readonly accesses: readonly TableAccess[];
  readonly updates: readonly UpdatedColumns[];
}

export type SkipReason = 'utility' | 'unparseable';

export type Extraction =
  | { readonly ok: true; readonly shape: StatementShape }
  | { readonly ok: false; readonly reason: SkipReason; readonly detail: string };
