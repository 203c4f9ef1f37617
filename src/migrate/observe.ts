import type pg from 'pg';
import type { MigrationTable } from './migration.js';

/** A table, index or constraint by name: what a finding names, and what a migration created. */
export interface CatalogObject {
  readonly schema: string;
  /** The table (an index's or constraint's table; a table's own name). */
  readonly table: string;
  readonly name: string;
}

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;

// Every user relation (keyed r<oid>) and constraint (c<oid>), with the names a finding
// uses. One statement; check-migrations runs it after each statement of a new migration
// to see what the statement created.
const OBJECTS_SQL = `
SELECT 'r' || c.oid AS key, n.nspname AS schema, coalesce(t.relname, c.relname) AS table, c.relname AS name
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.oid
LEFT JOIN pg_class t ON t.oid = i.indrelid
WHERE ${USER_SCHEMAS}
UNION ALL
SELECT 'c' || k.oid, n.nspname, c.relname, k.conname
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE ${USER_SCHEMAS}`;

/**
 * An object's identity by name, as findings name it: `r` relations (tables, indexes) and
 * `c` constraints, with schema, table and name.
 */
export function objectId(kind: 'r' | 'c', schema: string | null, table: string | null, name: string | null): string {
  return JSON.stringify([kind, schema, table, name]);
}

/** The user objects of the database by key (`r<oid>` relations, `c<oid>` constraints). */
export async function listObjects(client: pg.Client): Promise<Map<string, CatalogObject>> {
  const { rows } = await client.query<CatalogObject & { key: string }>(OBJECTS_SQL);
  return new Map(rows.map(({ key, ...object }) => [key, object]));
}

/** A table a statement acts on, as it stood before the statement ran. */
export interface TableState extends Omit<MigrationTable, 'newInFile' | 'rewritten'> {
  readonly key: string;
  readonly oid: number;
  /** The relfilenodes of the table and its partitions: they change when it is rewritten. */
  readonly files: string;
}

/** The relfilenodes of a table and of its partitions (a partitioned parent has none of its own). */
function storageFiles(table: string): string {
  return `(SELECT string_agg(p.relfilenode::text, ',' ORDER BY p.oid) FROM pg_class p
    WHERE p.oid = ${table} OR p.oid IN (SELECT relid FROM pg_partition_tree(${table})))`;
}

// Resolves a name as the statement would (search_path included); an index resolves to
// its table. notNull: validated NOT NULL columns (PostgreSQL 18 sets attnotnull for a
// NOT VALID not-null constraint too, which SET NOT NULL still scans to validate).
// notNullChecked: columns with a validated single-column CHECK (col IS NOT NULL).
const TABLE_SQL = `
WITH named AS (SELECT to_regclass($1) AS oid),
target AS (
  SELECT coalesce(i.indrelid, c.oid) AS oid
  FROM named JOIN pg_class c ON c.oid = named.oid LEFT JOIN pg_index i ON i.indexrelid = c.oid
)
SELECT t.oid::int AS oid, n.nspname AS schema, t.relname AS name, t.relkind = 'p' AS partitioned,
  array(SELECT a.attname::text FROM pg_attribute a
        WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull
          AND NOT EXISTS (SELECT FROM pg_constraint k
                          WHERE k.conrelid = t.oid AND k.contype = 'n' AND NOT k.convalidated AND k.conkey = ARRAY[a.attnum])
        ORDER BY a.attnum) AS "notNull",
  array(SELECT a.attname::text FROM pg_attribute a
        WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
          AND EXISTS (SELECT FROM pg_constraint k
                      WHERE k.conrelid = t.oid AND k.contype = 'c' AND k.convalidated AND k.conkey = ARRAY[a.attnum]
                        AND pg_get_constraintdef(k.oid) = format('CHECK ((%s IS NOT NULL))', quote_ident(a.attname)))
        ORDER BY a.attnum) AS "notNullChecked",
  ${storageFiles('t.oid')} AS files
FROM target JOIN pg_class t ON t.oid = target.oid JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE t.relkind IN ('r', 'p', 'm')`;

/** Resolves `name` (a qualified, quoted name) to the table it is or indexes; null when none. */
export async function tableState(client: pg.Client, name: string): Promise<TableState | null> {
  const { rows } = await client.query<Omit<TableState, 'key'>>(TABLE_SQL, [name]);
  const row = rows[0];
  return row ? { ...row, key: `r${row.oid}` } : null;
}

const FILES_SQL = `SELECT ${storageFiles('$1::oid')} AS files`;

/** Whether the table's storage changed since `before` was read: a rewrite. */
export async function wasRewritten(client: pg.Client, before: TableState): Promise<boolean> {
  const { rows } = await client.query<{ files: string | null }>(FILES_SQL, [before.oid]);
  const files = rows[0]?.files;
  return files !== null && files !== undefined && files !== before.files;
}

/** The MigrationTable rules see. */
export function migrationTable(state: TableState, newInFile: boolean, rewritten: boolean): MigrationTable {
  const { key: _key, oid: _oid, files: _files, ...table } = state;
  return { ...table, newInFile, rewritten };
}
