import type { TestDatabase } from './db.js';

/** What a database holds in some schemas, to compare before and after a change. */
export interface Fingerprint {
  /** `kind schema.name options` of every relation but indexes. */
  readonly relations: readonly string[];
  /** `table #attnum name type not-null default?` of every column. */
  readonly columns: readonly string[];
  /** `table name definition` of every constraint. */
  readonly constraints: readonly string[];
  /** Per table with storage (raw `schema.name`): row count and md5 of all its rows. */
  readonly data: Readonly<Record<string, string>>;
  /** Per index (raw `schema.name`): its definition and whether it is valid. */
  readonly indexes: Readonly<Record<string, string>>;
}

const IN_SCHEMAS = 'n.nspname = ANY($1::text[])';

export async function fingerprint(db: TestDatabase, schemas: readonly string[]): Promise<Fingerprint> {
  const lines = async (sql: string) => (await db.query<{ line: string }>(sql, [schemas])).map((row) => row.line);
  const relations = await lines(`SELECT concat_ws(' ', c.relkind, format('%I.%I', n.nspname, c.relname), c.reloptions::text) AS line
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${IN_SCHEMAS} AND c.relkind NOT IN ('i', 'I') ORDER BY 1`);
  const columns = await lines(`SELECT concat_ws(' ', a.attrelid::regclass::text, '#' || a.attnum, quote_ident(a.attname),
      format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef) AS line
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${IN_SCHEMAS} AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1`);
  const constraints = await lines(`SELECT concat_ws(' ', co.conrelid::regclass::text, quote_ident(co.conname), pg_get_constraintdef(co.oid)) AS line
    FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace WHERE ${IN_SCHEMAS} ORDER BY 1`);
  const indexes = await db.query<{ name: string; definition: string }>(`SELECT n.nspname || '.' || c.relname AS name,
      pg_get_indexdef(c.oid) || CASE WHEN i.indisvalid THEN '' ELSE ' INVALID' END AS definition
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${IN_SCHEMAS}`, [schemas]);
  const tables = await db.query<{ name: string; sql: string }>(`SELECT n.nspname || '.' || c.relname AS name,
      format('SELECT count(*) || '' '' || md5(coalesce(string_agg(t::text, E''\\n'' ORDER BY t::text), '''')) AS line FROM %I.%I t', n.nspname, c.relname) AS sql
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${IN_SCHEMAS} AND c.relkind = 'r'`, [schemas]);
  const data: Record<string, string> = {};
  for (const table of tables) data[table.name] = (await db.query<{ line: string }>(table.sql))[0]?.line ?? '';
  return { relations, columns, constraints, data, indexes: Object.fromEntries(indexes.map((index) => [index.name, index.definition])) };
}
