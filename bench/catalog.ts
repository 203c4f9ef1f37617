/**
 * The benchmark's synthetic catalog: tables spread over four schemas, each with an
 * identity primary key, a foreign key to the table before it and about four indexes, so
 * 10,000 tables make about 41,000 indexes and 10,000 foreign keys. Every rule has
 * something to look at: half the foreign keys are covered and half are not, and there
 * are duplicate, prefix-redundant, partial and expression indexes and a few partitioned
 * tables. Table i is the same whatever the size, so a larger catalog extends a smaller one.
 */
import type pg from 'pg';
import { qualify, quoteIdent } from '../src/plan/quote.js';

export const SCHEMAS = ['bench_a', 'bench_b', 'bench_c', 'bench_d'];
/** Tables created (and analyzed) per round trip: one implicit transaction each. */
const BATCH = 250;
/** Every this-many-th table is partitioned, into this many partitions. */
const PARTITIONED_EVERY = 1000;
const PARTITIONS = 4;

/** The i-th table's schema and name. */
export function benchTable(i: number): { schema: string; name: string } {
  return { schema: SCHEMAS[i % SCHEMAS.length] ?? 'bench_a', name: `t${i}` };
}

const qualified = (i: number): string => {
  const { schema, name } = benchTable(i);
  return qualify(schema, name);
};

/** Rows per table: a few everywhere, some tables past missing-fk-index's and missing-index's thresholds. */
export function rowsOf(i: number): number {
  if (i < 4) return 20_000;
  return i % 100 === 0 ? 2_000 : 10;
}

const isPartitioned = (i: number): boolean => i % PARTITIONED_EVERY === PARTITIONED_EVERY / 2;

function tableDdl(i: number): string[] {
  const table = qualified(i);
  const columns = 'parent_id bigint, a int, b int, c text, flag boolean, created_at timestamptz NOT NULL DEFAULT now()';
  const fk = `ALTER TABLE ${table} ADD FOREIGN KEY (parent_id) REFERENCES ${qualified(Math.max(i - 1, 0))}`;
  if (isPartitioned(i)) {
    const { schema, name } = benchTable(i);
    const partitions = Array.from({ length: PARTITIONS }, (_, p) =>
      `CREATE TABLE ${qualify(schema, `${name}_p${p}`)} PARTITION OF ${table} FOR VALUES FROM (${p * 10_000}) TO (${(p + 1) * 10_000})`);
    return [`CREATE TABLE ${table} (id bigint PRIMARY KEY, ${columns}) PARTITION BY RANGE (id)`, ...partitions, fk];
  }
  return [`CREATE TABLE ${table} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ${columns})`, fk];
}

// With the primary key, 4.1 indexes per table on average.
function indexDdl(i: number): string[] {
  const table = qualified(i);
  const on = (keys: string, where = '') => `CREATE INDEX ON ${table} ${keys}${where ? ` WHERE ${where}` : ''}`;
  return [
    on('(a, b)'),
    on('(created_at)'),
    ...(i % 2 === 0 ? [on('(parent_id)')] : []), // covers the foreign key; odd tables leave it uncovered
    ...(i % 5 === 0 ? [on('(created_at)')] : []), // duplicate
    ...(i % 5 === 1 ? [on('(a)')] : []), // prefix of (a, b): redundant
    ...(i % 10 === 3 ? [on('(c)', 'flag')] : []), // partial
    ...(i % 10 === 7 ? [on('(lower(c))')] : []), // expression
  ];
}

// A partitioned table has no identity column: its ids are given, and route the rows.
function rowsDml(i: number): string {
  const id = isPartitioned(i) ? ['id, ', 'g, '] : ['', ''];
  return `INSERT INTO ${qualified(i)} (${id[0]}a, b, c, flag)
    SELECT ${id[1]}g % 100, g, 'value ' || g, g % 20 = 0 FROM generate_series(1, ${rowsOf(i)}) g`;
}

/** Creates tables `from` .. `to - 1` with their rows, indexes and foreign keys, and analyzes them. */
export async function buildTables(client: pg.Client, from: number, to: number, onBatch?: (done: number) => void): Promise<void> {
  if (from === 0) await client.query(SCHEMAS.map((schema) => `CREATE SCHEMA ${quoteIdent(schema)};`).join('\n'));
  for (let start = from; start < to; start += BATCH) {
    const ids = Array.from({ length: Math.min(BATCH, to - start) }, (_, k) => start + k);
    const statements = ids.flatMap((i) => [...tableDdl(i), rowsDml(i), ...indexDdl(i)]);
    await client.query(`${statements.join(';\n')};\nANALYZE ${ids.map(qualified).join(', ')};`);
    onBatch?.(start + ids.length);
  }
}

/**
 * A small workload recorded by pg_stat_statements, so the query rules (missing-index,
 * slow-query, n-plus-one) have statements to parse and plan: lookups by unindexed columns
 * on the four large tables. The same whatever the catalog size.
 */
export async function runWorkload(client: pg.Client): Promise<void> {
  for (let i = 0; i < 4; i++) {
    const table = qualified(i);
    for (let call = 0; call < 20; call++) {
      await client.query(`SELECT * FROM ${table} WHERE c = $1`, [`value ${call}`]);
      await client.query(`SELECT id FROM ${table} WHERE b BETWEEN $1 AND $2 ORDER BY b`, [call * 100, call * 100 + 10]);
      await client.query(`SELECT count(*) FROM ${table} WHERE parent_id = $1`, [call]);
    }
  }
  for (let call = 0; call < 150; call++) await client.query(`SELECT * FROM ${qualified(5)} WHERE id = $1`, [call]);
}

export interface CatalogSize {
  readonly tables: number;
  readonly partitioned: number;
  readonly indexes: number;
  readonly foreignKeys: number;
  readonly sequences: number;
}

/** What the catalog holds, counted by the server. */
export async function catalogSize(client: pg.Client): Promise<CatalogSize> {
  const { rows } = await client.query<CatalogSize>(`
    SELECT count(*) FILTER (WHERE c.relkind IN ('r', 'p'))::int AS tables,
           count(*) FILTER (WHERE c.relkind = 'p')::int AS partitioned,
           count(*) FILTER (WHERE c.relkind IN ('i', 'I'))::int AS indexes,
           count(*) FILTER (WHERE c.relkind = 'S')::int AS sequences,
           (SELECT count(*)::int FROM pg_constraint co WHERE co.contype = 'f'
              AND co.connamespace IN (SELECT oid FROM pg_namespace WHERE nspname = ANY($1))) AS "foreignKeys"
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1)`, [SCHEMAS]);
  const size = rows[0];
  if (!size) throw new Error('catalog count returned no row');
  return size;
}
