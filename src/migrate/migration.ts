/**
 * A migration file as `check-migrations` applied it: statement by statement, each with
 * what the server saw when it ran. Migration rules read this; it is plain data.
 */

/** A migration file under check. */
export interface Migration {
  /** The file as given on the command line (a directory's files are joined to it). */
  readonly file: string;
  readonly statements: readonly MigrationStatement[];
}

/** One statement of a migration's up section, after it ran on the check server. */
export interface MigrationStatement {
  /** 1-based line of the statement's first token in the file. */
  readonly line: number;
  readonly text: string;
  /** The parse-tree node type (libpg-query), e.g. `IndexStmt`, `AlterTableStmt`, `DropStmt`. */
  readonly kind: string;
  /** The node itself (libpg-query JSON), e.g. `{ relation: { relname: 'orders' }, concurrent: true, … }`. */
  readonly node: Readonly<Record<string, unknown>>;
  /** Runs inside a transaction block: after an explicit BEGIN, or in the tool's per-file transaction (goose, dbmate). */
  readonly inTransaction: boolean;
  /** A `SET [LOCAL] lock_timeout` to a non-zero value ran earlier in the file. */
  readonly lockTimeoutSet: boolean;
  /**
   * The table the statement changes or locks, resolved on the server just before it ran:
   * ALTER TABLE's, an index's table (CREATE/DROP/REINDEX INDEX), CLUSTER's, VACUUM's first.
   * Null for statements that name no existing table (CREATE TABLE, SET, …).
   */
  readonly target: MigrationTable | null;
}

/** A table as it stood when a migration statement ran. */
export interface MigrationTable {
  readonly schema: string;
  readonly name: string;
  /** A partitioned table (CREATE INDEX CONCURRENTLY cannot build on its parent). */
  readonly partitioned: boolean;
  /** Created by an earlier statement of the same file: exempt from lock hazards. */
  readonly newInFile: boolean;
  /** The statement rewrote the table (its relfilenode changed). */
  readonly rewritten: boolean;
  /** Columns with a validated `CHECK (column IS NOT NULL)` before the statement ran. */
  readonly notNullChecked: readonly string[];
  /**
   * Columns that were already NOT NULL before the statement ran, by a validated not-null
   * constraint (pg_constraint contype 'n' and convalidated: on PostgreSQL 18 `attnotnull` is
   * also true for a NOT VALID one, which SET NOT NULL still scans to validate). SET NOT NULL
   * on them reads nothing.
   */
  readonly notNull: readonly string[];
}
