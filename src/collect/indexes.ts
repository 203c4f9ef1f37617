import type { Kysely } from 'kysely';
import { catalogQuery, interner, isoTime, userSchema } from './catalog-query.js';
import { LOCKED_CTE } from './locks.js';
import type { ForeignKey, Index, IndexKey, IndexStats, QualifiedName, ReferentialAction } from './snapshot.js';
import { groupBy, type ColumnRow, type InheritsRow } from './tables.js';

interface IndexRow {
  oid: number;
  schema: string;
  name: string;
  table_oid: number;
  method: string;
  is_unique: boolean;
  is_primary: boolean;
  is_valid: boolean;
  is_ready: boolean;
  is_live: boolean;
  nulls_not_distinct: boolean;
  replica_identity: boolean;
  clustered: boolean;
  key_count: number;
  indkey: number[];
  indclass: number[];
  indcollation: number[];
  indoption: number[];
  key_texts: string[] | null;
  predicate: string | null;
  /** The lock holder's pid when the definition could not be read. */
  locked_by: number | null;
  reloptions: string[];
  tablespace: string | null;
  relpages: number;
}

interface IndexStatsRow {
  indexrelid: number;
  idx_scan: number;
  idx_tup_read: number;
  idx_tup_fetch: number;
  last_idx_scan: Date | null;
}

interface ConstraintRow {
  name: string;
  contype: 'p' | 'u' | 'x' | 'f';
  conrelid: number;
  conindid: number;
  confrelid: number;
  conkey: number[];
  confkey: number[] | null;
  inherited: boolean;
  validated: boolean;
  on_delete: string;
  on_update: string;
}

interface NameRow extends QualifiedName {
  oid: number;
  is_default: boolean;
}

// Key texts only for expression indexes (a per-column call, so never for plain ones);
// predicates deparsed by PostgreSQL, so equal predicates compare equal as text; neither
// on a table another session has locked (locked_by: see locks.ts). Small
// arrays as JSON: JSON.parse sizes them exactly, where pg's array parser leaves each with
// room for 17 elements (at 41,000 indexes, 44 MB of rows instead of 24 MB). Oids as int8,
// which JSON writes as numbers (oids it writes as strings).
function indexesSql(versionNum: number): string {
  const nullsNotDistinct = versionNum >= 150000 ? 'i.indnullsnotdistinct' : 'false';
  return `
  WITH ${LOCKED_CTE}
  SELECT i.indexrelid AS oid, n.nspname AS schema, c.relname AS name, i.indrelid AS table_oid, am.amname AS method,
         i.indisunique AS is_unique, i.indisprimary AS is_primary, i.indisvalid AS is_valid,
         i.indisready AS is_ready, i.indislive AS is_live, ${nullsNotDistinct} AS nulls_not_distinct,
         i.indisreplident AS replica_identity, i.indisclustered AS clustered,
         i.indnkeyatts AS key_count, to_json(i.indkey::int2[]) AS indkey, to_json(i.indclass::oid[]::int8[]) AS indclass,
         to_json(i.indcollation::oid[]::int8[]) AS indcollation, to_json(i.indoption::int2[]) AS indoption,
         CASE WHEN i.indexprs IS NOT NULL AND lk.pid IS NULL
              THEN ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) k) END AS key_texts,
         CASE WHEN lk.pid IS NULL THEN pg_get_expr(i.indpred, i.indrelid, true) END AS predicate,
         CASE WHEN i.indexprs IS NOT NULL OR i.indpred IS NOT NULL THEN lk.pid END AS locked_by,
         coalesce(c.reloptions, '{}') AS reloptions, ts.spcname AS tablespace, c.relpages
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_am am ON am.oid = c.relam
  LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace
  LEFT JOIN locked lk ON lk.relation = i.indrelid
  WHERE ${userSchema('n.nspname')}`;
}

function indexStatsSql(versionNum: number): string {
  const lastScan = versionNum >= 160000 ? 'last_idx_scan' : 'NULL::timestamptz AS last_idx_scan';
  return `
  SELECT indexrelid, idx_scan::float8, idx_tup_read::float8, idx_tup_fetch::float8, ${lastScan}
  FROM pg_stat_all_indexes WHERE ${userSchema('schemaname')}`;
}

// Column lists as JSON, like the index arrays above.
const CONSTRAINTS_SQL = `
  SELECT co.conname AS name, co.contype, co.conrelid, co.conindid, co.confrelid, to_json(co.conkey) AS conkey, to_json(co.confkey) AS confkey,
         co.conparentid <> 0 AS inherited, co.convalidated AS validated,
         co.confdeltype AS on_delete, co.confupdtype AS on_update
  FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace
  WHERE co.contype IN ('p', 'u', 'x', 'f') AND co.conrelid <> 0 AND ${userSchema('n.nspname')}`;

const OPCLASSES_SQL = `
  SELECT o.oid, n.nspname AS schema, o.opcname AS name, o.opcdefault AS is_default
  FROM pg_opclass o JOIN pg_namespace n ON n.oid = o.opcnamespace`;

// Only collations some index uses; the full list runs to hundreds with ICU.
const COLLATIONS_SQL = `
  SELECT c.oid, n.nspname AS schema, c.collname AS name, c.oid = 100 AS is_default
  FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace
  WHERE c.oid IN (SELECT DISTINCT unnest(indcollation::oid[]) FROM pg_index)`;

// Without pg_read_all_stats, other roles' builds show no index_relid; pg_locks hides
// nothing, and a concurrent build holds a session lock on its table throughout: each
// not-yet-valid index of that table may be the one being built.
const IN_PROGRESS_SQL = `
  SELECT coalesce(p.index_relid, i.indexrelid) AS oid
  FROM pg_stat_progress_create_index p
  LEFT JOIN pg_locks l ON p.index_relid IS NULL AND l.pid = p.pid AND l.locktype = 'relation' AND l.database = p.datid
  LEFT JOIN pg_index i ON i.indrelid = l.relation AND NOT i.indisvalid
  WHERE p.datid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND coalesce(p.index_relid, i.indexrelid) IS NOT NULL`;

export interface IndexSources {
  readonly indexes: IndexRow[];
  readonly stats: IndexStatsRow[];
  readonly constraints: ConstraintRow[];
  readonly opclasses: NameRow[];
  readonly collations: NameRow[];
  readonly inProgress: Array<{ oid: number }>;
}

/** Indexes, their statistics, constraints and the names they refer to: six queries. */
export async function queryIndexSources(db: Kysely<unknown>, versionNum: number): Promise<IndexSources> {
  return {
    indexes: await catalogQuery<IndexRow>(db, indexesSql(versionNum)),
    stats: await catalogQuery<IndexStatsRow>(db, indexStatsSql(versionNum)),
    constraints: await catalogQuery<ConstraintRow>(db, CONSTRAINTS_SQL),
    opclasses: await catalogQuery<NameRow>(db, OPCLASSES_SQL),
    collations: await catalogQuery<NameRow>(db, COLLATIONS_SQL),
    inProgress: await catalogQuery<{ oid: number }>(db, IN_PROGRESS_SQL),
  };
}

const UNKNOWN_OPCLASS: QualifiedName = { schema: 'pg_catalog', name: '?' };

export function buildIndexes(sources: IndexSources, columns: readonly ColumnRow[], inherits: readonly InheritsRow[]): Index[] {
  const statsByIndex = new Map(sources.stats.map((row) => [row.indexrelid, row]));
  // One name object per operator class and collation, shared by the keys using it.
  const opclasses = new Map(sources.opclasses.map((row) => [row.oid, { name: { schema: row.schema, name: row.name }, isDefault: row.is_default }]));
  const collations = new Map(sources.collations.map((row) => [row.oid, { schema: row.schema, name: row.name }]));
  const intern = interner();
  const columnsByTable = groupBy(columns, (row) => row.attrelid);
  const parentOf = new Map(inherits.map((row) => [row.child, row.parent]));
  const backing = new Map(
    sources.constraints.filter((row) => row.contype !== 'f').map((row) => [row.conindid, row]),
  );
  return sources.indexes.map((row) => {
    const constraint = backing.get(row.oid);
    const stats = statsByIndex.get(row.oid);
    const keys = row.indkey.slice(0, row.key_count).map((attnum, k): IndexKey => {
      const opclass = opclasses.get(row.indclass[k] ?? 0);
      const collationOid = row.indcollation[k] ?? 0;
      const option = row.indoption[k] ?? 0;
      const ownCollation = attnum === 0 ? 100 : columnsByTable.get(row.table_oid)?.find((column) => column.attnum === attnum)?.collation;
      return {
        attnum,
        expression: attnum === 0 ? (row.key_texts?.[k] ?? null) : null,
        opclass: opclass?.name ?? UNKNOWN_OPCLASS,
        opclassIsDefault: opclass?.isDefault ?? true,
        collation: collations.get(collationOid) ?? null,
        collationIsDefault: collationOid === 0 || collationOid === ownCollation,
        descending: (option & 1) !== 0,
        nullsFirst: (option & 2) !== 0,
      };
    });
    return {
      oid: row.oid,
      schema: intern(row.schema),
      name: row.name,
      tableOid: row.table_oid,
      method: intern(row.method),
      unique: row.is_unique,
      primary: row.is_primary,
      nullsNotDistinct: row.nulls_not_distinct,
      replicaIdentity: row.replica_identity,
      clustered: row.clustered,
      valid: row.is_valid,
      ready: row.is_ready,
      live: row.is_live,
      keys,
      include: row.indkey.slice(row.key_count),
      predicate: row.predicate,
      reloptions: row.reloptions,
      tablespace: row.tablespace,
      relpages: row.relpages,
      parentIndexOid: parentOf.get(row.oid) ?? null,
      constraint: constraint
        ? { name: constraint.name, kind: constraint.contype === 'p' ? 'primary' : constraint.contype === 'u' ? 'unique' : 'exclusion' }
        : null,
      stats: stats ? toIndexStats(stats) : null,
    };
  });
}

function toIndexStats(row: IndexStatsRow): IndexStats {
  return {
    scans: row.idx_scan,
    tuplesRead: row.idx_tup_read,
    tuplesFetched: row.idx_tup_fetch,
    lastScan: isoTime(row.last_idx_scan),
  };
}

const ACTIONS: Record<string, ReferentialAction> = {
  a: 'no action', r: 'restrict', c: 'cascade', n: 'set null', d: 'set default',
};

export function buildForeignKeys(sources: IndexSources): ForeignKey[] {
  return sources.constraints
    .filter((row) => row.contype === 'f')
    .map((row) => ({
      name: row.name,
      referencedIndexOid: row.conindid,
      tableOid: row.conrelid,
      columns: row.conkey,
      referencedTableOid: row.confrelid,
      referencedColumns: row.confkey ?? [],
      inherited: row.inherited,
      validated: row.validated,
      onDelete: ACTIONS[row.on_delete] ?? 'no action',
      onUpdate: ACTIONS[row.on_update] ?? 'no action',
    }));
}

/** Tables whose index definitions could not be read, to the pid of the session locking them. */
export function tablesLocked(sources: IndexSources): Map<number, number> {
  return new Map(sources.indexes.flatMap((row) => (row.locked_by === null ? [] : [[row.table_oid, row.locked_by] as const])));
}

export function indexesInProgress(sources: IndexSources): number[] {
  return sources.inProgress.map((row) => row.oid);
}
