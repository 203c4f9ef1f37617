/**
 * The typed snapshot of one database: everything the rules look at, collected once.
 * Objects refer to each other by oid, which is only meaningful inside one snapshot;
 * findings and fingerprints use names.
 */

/** Bumped when the snapshot file layout changes incompatibly. */
export const SNAPSHOT_FORMAT = 1;

export interface Snapshot {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly collectedAt: string;
  readonly server: Server;
  readonly tables: readonly Table[];
  readonly indexes: readonly Index[];
  readonly foreignKeys: readonly ForeignKey[];
  /** Oids of indexes being built right now (`pg_stat_progress_create_index`). */
  readonly indexesInProgress: readonly number[];
  /** Views, sequences, composite types and foreign tables: names a new index must avoid. */
  readonly otherRelationNames: readonly QualifiedName[];
  readonly sequences: readonly Sequence[];
  /** Planner statistics per column (`pg_stats`), for selectivity estimates. */
  readonly columnStats: readonly ColumnStats[];
  readonly workload: Workload;
  /** With `scan --exact`: bloat measured by pgstattuple, by oid; absent otherwise. */
  readonly exactBloat?: ExactBloat;
  /** What PostgreSQL hid from the scanning role; absent in snapshot files of earlier versions. */
  readonly visibility?: Visibility;
  /** Objects left out because reading them would have waited for another session's lock (see collect/locks.ts). */
  readonly locked?: readonly LockedObject[];
}

/** What the scanning role may not see; PostgreSQL hides it without an error. */
export interface Visibility {
  /** Tables whose `pg_stats` rows are hidden: the role lacks SELECT on them, or row security applies to it. */
  readonly tablesWithoutStats: readonly number[];
  /** Sequences whose last value is hidden: the role lacks SELECT and USAGE on them. */
  readonly unreadableSequences: readonly number[];
}

/** A table (with its partition tree, if any) or sequence left out of the snapshot. */
export interface LockedObject {
  readonly kind: 'table' | 'partition' | 'sequence';
  readonly schema: string;
  readonly name: string;
  /** The session holding (or, if none holds it, first awaiting) the ACCESS EXCLUSIVE lock. */
  readonly pid: number;
}

/** Measured bloat (`pgstattuple_approx` for tables, `pgstatindex` for btree indexes). */
export interface ExactBloat {
  /** Why nothing could be measured (pgstattuple not installed, no privilege); null when measured. */
  readonly unavailable: string | null;
  readonly tables: Readonly<Record<string, ExactFigure>>;
  readonly indexes: Readonly<Record<string, ExactFigure>>;
}

export interface ExactFigure {
  readonly wastedBytes: number;
  /** Wasted bytes over the relation's size, 0..1. */
  readonly share: number;
}

/** A sequence and the columns it feeds. Values are decimal strings: bigint exceeds 2^53. */
export interface Sequence {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  /** smallint, integer or bigint. */
  readonly type: string;
  readonly increment: string;
  readonly min: string;
  readonly max: string;
  readonly cycle: boolean;
  /** Null when never used, or when the role may not read it. */
  readonly lastValue: string | null;
  /** Columns filled from it: serial and identity columns, and defaults calling nextval(). */
  readonly feeds: ReadonlyArray<{ readonly tableOid: number; readonly attnum: number }>;
}

/** `pg_stats` for one column. Values are kept only for boolean columns (data never leaves otherwise). */
export interface ColumnStats {
  readonly tableOid: number;
  readonly attnum: number;
  readonly nullFrac: number;
  /** Average stored width in bytes (`avg_width`), for row-size estimates. */
  readonly avgWidth: number;
  /** Distinct values: positive is a count, negative a fraction of the rows (-1: unique). */
  readonly nDistinct: number;
  readonly correlation: number | null;
  readonly mostCommonFreqs: readonly number[];
  /** Most common values, for boolean columns only ('t' / 'f'). */
  readonly mostCommonValues: readonly string[] | null;
}

/** What pg_stat_statements says about this database's statements. */
export interface Workload {
  /** Why statements could not be read (not loaded, no privilege); null when they were. */
  readonly unavailable: string | null;
  readonly statements: readonly Statement[];
  /** Other roles' statements whose text this role may not see (it lacks pg_read_all_stats). */
  readonly hiddenStatements: number;
  /** Entries evicted since the last reset (`pg_stat_statements_info.dealloc`, PG14+). */
  readonly deallocations: number | null;
  readonly statsResetAt: string | null;
  /** With `--sample`: the window in seconds, and every counter is the change over it. */
  readonly sampleSeconds: number | null;
}

/** One `pg_stat_statements` entry; times in milliseconds. */
export interface Statement {
  readonly queryId: string;
  readonly userId: number;
  readonly topLevel: boolean;
  /** Normalized by pg_stat_statements, then stripped of string literals and comments. */
  readonly query: string;
  readonly calls: number;
  readonly totalTimeMs: number;
  readonly meanTimeMs: number;
  readonly rows: number;
  readonly sharedBlocksHit: number;
  readonly sharedBlocksRead: number;
  readonly tempBlocksWritten: number;
  readonly blockReadTimeMs: number;
}

export interface Server {
  readonly version: string;
  /** `server_version_num`, e.g. 170004. */
  readonly versionNum: number;
  readonly database: string;
  readonly currentUser: string;
  readonly inRecovery: boolean;
  /** When this database's statistics were last reset (`pg_stat_database.stats_reset`); null if never. */
  readonly statsResetAt: string | null;
  /** When the server started (`pg_postmaster_start_time()`); counters start there too. */
  readonly startedAt: string;
  /** Server settings by name; connection strings and commands are redacted. */
  readonly settings: Readonly<Record<string, string>>;
  readonly extensions: readonly Extension[];
  readonly blockSize: number;
  /** This database's shared-buffer hits and reads (`pg_stat_database`). */
  readonly databaseBlocks: { readonly hit: number; readonly read: number };
  /** age(datfrozenxid) and mxid_age(datminmxid) of this database. */
  readonly databaseFrozenXidAge: number;
  readonly databaseMinMultiXactAge: number;
  /** What holds the xmin horizon back, oldest first: sessions, prepared transactions, replication slots. */
  readonly horizonHolders: readonly HorizonHolder[];
}

export interface HorizonHolder {
  readonly kind: 'session' | 'prepared transaction' | 'replication slot';
  /** pid, gid or slot name. */
  readonly name: string;
  /** Transactions since its xmin. */
  readonly xidAge: number;
  /** Since when (transaction start, preparation), when known. */
  readonly since: string | null;
}

export interface Extension {
  readonly name: string;
  readonly version: string;
  readonly schema: string;
}

export type TableKind = 'table' | 'partitioned' | 'matview';

export interface Table {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  readonly kind: TableKind;
  /** The partitioned table this one is a partition of, if any. */
  readonly partitionOf: number | null;
  readonly relpages: number;
  /** Planner's row estimate; -1 when never vacuumed or analyzed (PG14+). */
  readonly reltuples: number;
  readonly reloptions: readonly string[];
  readonly columns: readonly Column[];
  readonly stats: TableStats | null;
  /** The TOAST table holding its out-of-line values, if it has one. */
  readonly toast: { readonly relpages: number; readonly reloptions: readonly string[] } | null;
  /** `pg_statio_all_tables`: blocks found in shared buffers (hit) or read from outside. */
  readonly io: TableIo | null;
  readonly frozenXidAge: number | null;
  readonly minMultiXactAge: number | null;
}

export interface TableIo {
  readonly heapRead: number;
  readonly heapHit: number;
  readonly indexRead: number;
  readonly indexHit: number;
}

export interface Column {
  readonly attnum: number;
  readonly name: string;
  /** `format_type(atttypid, atttypmod)`. */
  readonly type: string;
  readonly notNull: boolean;
}

/** `pg_stat_all_tables`, cumulative since the last reset. */
export interface TableStats {
  readonly seqScan: number;
  readonly seqTupRead: number;
  readonly idxScan: number;
  readonly idxTupFetch: number;
  readonly inserted: number;
  readonly updated: number;
  readonly hotUpdated: number;
  readonly deleted: number;
  readonly liveTuples: number;
  readonly deadTuples: number;
  readonly modifiedSinceAnalyze: number;
  readonly insertedSinceVacuum: number;
  readonly vacuumCount: number;
  readonly autovacuumCount: number;
  readonly lastVacuum: string | null;
  readonly lastAutovacuum: string | null;
  readonly lastAnalyze: string | null;
  readonly lastAutoanalyze: string | null;
}

export interface Index {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  readonly tableOid: number;
  /** Access method: btree, hash, gin, gist, brin, spgist, … */
  readonly method: string;
  readonly unique: boolean;
  readonly primary: boolean;
  readonly nullsNotDistinct: boolean;
  /** The table's REPLICA IDENTITY index: logical replication identifies rows by it. */
  readonly replicaIdentity: boolean;
  /** The index the table was last CLUSTERed on. */
  readonly clustered: boolean;
  readonly valid: boolean;
  readonly ready: boolean;
  readonly live: boolean;
  readonly keys: readonly IndexKey[];
  /** INCLUDE columns (attnums). */
  readonly include: readonly number[];
  /** Partial-index predicate as PostgreSQL deparses it; null for a full index. */
  readonly predicate: string | null;
  readonly reloptions: readonly string[];
  readonly tablespace: string | null;
  readonly relpages: number;
  /** The partitioned index this one is attached to. */
  readonly parentIndexOid: number | null;
  /** The constraint this index implements (primary key, unique, exclusion). */
  readonly constraint: { readonly name: string; readonly kind: 'primary' | 'unique' | 'exclusion' } | null;
  readonly stats: IndexStats | null;
}

export interface IndexKey {
  /** Table column attnum; 0 for an expression. */
  readonly attnum: number;
  /** Deparsed expression for expression keys; null for a plain column. */
  readonly expression: string | null;
  readonly opclass: QualifiedName;
  /** The opclass is the default for the column's type (so DDL may omit it). */
  readonly opclassIsDefault: boolean;
  /** Key collation; null for a type that has none. */
  readonly collation: QualifiedName | null;
  /** The collation is the column's own (or the default, for expressions), so DDL may omit it. */
  readonly collationIsDefault: boolean;
  readonly descending: boolean;
  readonly nullsFirst: boolean;
}

export interface QualifiedName {
  readonly schema: string;
  readonly name: string;
}

/** `pg_stat_all_indexes`; for a partitioned index, null (scans are counted on partitions). */
export interface IndexStats {
  readonly scans: number;
  readonly tuplesRead: number;
  readonly tuplesFetched: number;
  /** PG16+ only. */
  readonly lastScan: string | null;
}

export type ReferentialAction = 'no action' | 'restrict' | 'cascade' | 'set null' | 'set default';

export interface ForeignKey {
  readonly name: string;
  /** The unique index on the referenced table that the constraint depends on. */
  readonly referencedIndexOid: number;
  readonly tableOid: number;
  /** Referencing columns (attnums), in constraint order. */
  readonly columns: readonly number[];
  readonly referencedTableOid: number;
  readonly referencedColumns: readonly number[];
  /** Constraint inherited from a partitioned parent's constraint (`conparentid <> 0`). */
  readonly inherited: boolean;
  readonly validated: boolean;
  readonly onDelete: ReferentialAction;
  readonly onUpdate: ReferentialAction;
}
