import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lookup } from '../../src/collect/lookup.js';
import type { Index, Snapshot, Table } from '../../src/collect/snapshot.js';
import { parseStatements } from '../../src/parse/statements.js';
import { dropIndexAction, indexDefinition } from '../../src/plan/index-ddl.js';
import { truncateBytes } from '../../src/plan/index-name.js';
import { quoteIdent } from '../../src/plan/quote.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

// A table with every kind of index key, option and access method the renderer must reproduce,
// under a hostile schema, table, column and index names.
const SCHEMA = `
CREATE SCHEMA "Weird Schema";
CREATE TABLE "Weird Schema"."Hostile ""Table""; --" (
  id bigint PRIMARY KEY,
  email text,
  "Email" text,
  "first name" text,
  a int,
  b int,
  "order" int,
  "semi;col" text,
  "Ünïcødé 表" text,
  code text COLLATE "C",
  vc varchar(40),
  ch char(10),
  tags int[],
  doc tsvector,
  body text,
  js jsonb,
  created_at timestamptz,
  bx box,
  p point,
  rng int4range
);
CREATE FUNCTION public.plus_one(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT $1 + 1';
CREATE FUNCTION "Weird Schema"."Norm"(text) RETURNS text IMMUTABLE LANGUAGE sql AS 'SELECT lower($1)';

-- multi-column and ordering
CREATE INDEX multi_idx ON "Weird Schema"."Hostile ""Table""; --" (a, b, "order");
CREATE INDEX desc_idx ON "Weird Schema"."Hostile ""Table""; --" (a DESC, b NULLS FIRST);
CREATE INDEX desc_nulls_last_idx ON "Weird Schema"."Hostile ""Table""; --" (a DESC NULLS LAST, b ASC NULLS LAST);
CREATE INDEX nulls_first_idx ON "Weird Schema"."Hostile ""Table""; --" (a NULLS FIRST);
CREATE INDEX asc_desc_nulls_first_idx ON "Weird Schema"."Hostile ""Table""; --" (a ASC NULLS FIRST, b DESC NULLS FIRST);
-- expressions
CREATE INDEX lower_email_idx ON "Weird Schema"."Hostile ""Table""; --" (lower(email));
CREATE INDEX sum_idx ON "Weird Schema"."Hostile ""Table""; --" ((a + b));
CREATE INDEX lower_email_desc_idx ON "Weird Schema"."Hostile ""Table""; --" (lower(email) DESC NULLS LAST, id);
CREATE INDEX concat_idx ON "Weird Schema"."Hostile ""Table""; --" (("semi;col" || "Ünïcødé 表"), (lower("Email")));
CREATE INDEX cast_idx ON "Weird Schema"."Hostile ""Table""; --" ((a::text), (COALESCE("order", -1)));
CREATE INDEX func_idx ON "Weird Schema"."Hostile ""Table""; --" (plus_one(a), "Weird Schema"."Norm"("first name"));
CREATE INDEX expr_collate_idx ON "Weird Schema"."Hostile ""Table""; --" ((email COLLATE "C"));
CREATE INDEX expr_c_column_idx ON "Weird Schema"."Hostile ""Table""; --" (lower(code));
CREATE INDEX expr_default_collation_idx ON "Weird Schema"."Hostile ""Table""; --" ((lower(code)) COLLATE "default", (code || 'x') COLLATE "POSIX");
CREATE INDEX expr_opclass_idx ON "Weird Schema"."Hostile ""Table""; --" (lower(email) text_pattern_ops DESC);
-- partial, with quotes and backslashes in the predicate
CREATE INDEX partial_quote_idx ON "Weird Schema"."Hostile ""Table""; --" (email) WHERE email <> 'it''s' AND "first name" LIKE 'O''%';
CREATE INDEX partial_hostile_idx ON "Weird Schema"."Hostile ""Table""; --" ("order") WHERE "semi;col" = '; DROP TABLE x; --' AND body <> '/* not a comment */';
CREATE INDEX partial_backslash_idx ON "Weird Schema"."Hostile ""Table""; --" (body) WHERE body <> E'a\\\\b' AND body <> '"quoted"';
CREATE INDEX partial_not_null_idx ON "Weird Schema"."Hostile ""Table""; --" (a) WHERE a IS NOT NULL AND b > 0 OR "order" IN (1, 2, 3);
-- INCLUDE
CREATE INDEX include_idx ON "Weird Schema"."Hostile ""Table""; --" (id) INCLUDE (email, "first name", "Ünïcødé 表");
CREATE INDEX include_expr_idx ON "Weird Schema"."Hostile ""Table""; --" (lower(email)) INCLUDE ("order") WHERE a > 0;
-- operator classes and collations
CREATE INDEX pattern_idx ON "Weird Schema"."Hostile ""Table""; --" (email text_pattern_ops);
CREATE INDEX varchar_pattern_idx ON "Weird Schema"."Hostile ""Table""; --" (vc varchar_pattern_ops, ch bpchar_pattern_ops);
CREATE INDEX varchar_idx ON "Weird Schema"."Hostile ""Table""; --" (vc, ch);
CREATE INDEX collate_c_idx ON "Weird Schema"."Hostile ""Table""; --" (email COLLATE "C");
CREATE INDEX collate_default_idx ON "Weird Schema"."Hostile ""Table""; --" (code COLLATE "default");
CREATE INDEX collate_posix_idx ON "Weird Schema"."Hostile ""Table""; --" (code COLLATE "POSIX" DESC);
CREATE INDEX collate_opclass_desc_idx ON "Weird Schema"."Hostile ""Table""; --" ("first name" COLLATE "C" text_pattern_ops DESC NULLS LAST);
-- an operator class and a collation of our own, in the hostile schema
CREATE FUNCTION "Weird Schema"."Rev Cmp"(int, int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT btint4cmp($2, $1)';
CREATE OPERATOR CLASS "Weird Schema"."Rev ""Int"" Ops" FOR TYPE int USING btree AS
  OPERATOR 1 >, OPERATOR 2 >=, OPERATOR 3 =, OPERATOR 4 <=, OPERATOR 5 <, FUNCTION 1 "Weird Schema"."Rev Cmp"(int, int);
CREATE COLLATION "Weird Schema"."My ""Coll""" FROM "C";
CREATE INDEX own_opclass_idx ON "Weird Schema"."Hostile ""Table""; --" (a "Weird Schema"."Rev ""Int"" Ops" DESC, b);
CREATE INDEX own_collation_idx ON "Weird Schema"."Hostile ""Table""; --" (email COLLATE "Weird Schema"."My ""Coll""", (lower(body) COLLATE "Weird Schema"."My ""Coll"""));
-- other access methods
CREATE INDEX hash_idx ON "Weird Schema"."Hostile ""Table""; --" USING hash (email);
CREATE INDEX hash_ff_idx ON "Weird Schema"."Hostile ""Table""; --" USING hash ("Email") WITH (fillfactor=60);
CREATE INDEX gin_array_idx ON "Weird Schema"."Hostile ""Table""; --" USING gin (tags);
CREATE INDEX gin_tsvector_idx ON "Weird Schema"."Hostile ""Table""; --" USING gin (doc) WITH (fastupdate=off, gin_pending_list_limit=128);
CREATE INDEX gin_jsonb_path_idx ON "Weird Schema"."Hostile ""Table""; --" USING gin (js jsonb_path_ops);
CREATE INDEX gin_expr_idx ON "Weird Schema"."Hostile ""Table""; --" USING gin (to_tsvector('simple'::regconfig, body));
CREATE INDEX brin_idx ON "Weird Schema"."Hostile ""Table""; --" USING brin (created_at) WITH (pages_per_range=16, autosummarize=on);
CREATE INDEX brin_multi_idx ON "Weird Schema"."Hostile ""Table""; --" USING brin (a int4_minmax_multi_ops, created_at timestamptz_bloom_ops);
CREATE INDEX gist_box_idx ON "Weird Schema"."Hostile ""Table""; --" USING gist (bx);
CREATE INDEX gist_range_idx ON "Weird Schema"."Hostile ""Table""; --" USING gist (rng) INCLUDE (id);
CREATE INDEX gist_tsvector_idx ON "Weird Schema"."Hostile ""Table""; --" USING gist (doc) WITH (buffering=on);
CREATE INDEX spgist_point_idx ON "Weird Schema"."Hostile ""Table""; --" USING spgist (p kd_point_ops);
CREATE INDEX spgist_text_idx ON "Weird Schema"."Hostile ""Table""; --" USING spgist (body);
-- uniqueness and storage options
CREATE UNIQUE INDEX unique_idx ON "Weird Schema"."Hostile ""Table""; --" (email, a);
CREATE UNIQUE INDEX unique_partial_idx ON "Weird Schema"."Hostile ""Table""; --" (lower("Email")) WHERE "Email" IS NOT NULL;
CREATE INDEX fillfactor_idx ON "Weird Schema"."Hostile ""Table""; --" (a) WITH (fillfactor=70);
CREATE INDEX dedup_idx ON "Weird Schema"."Hostile ""Table""; --" (b) WITH (fillfactor=80, deduplicate_items=off);
-- hostile index and column names
CREATE INDEX "Idx ""quoted""; --" ON "Weird Schema"."Hostile ""Table""; --" ("Ünïcødé 表", "order", "semi;col");
CREATE INDEX "ünï 表 /* idx */" ON "Weird Schema"."Hostile ""Table""; --" ("first name" DESC);
CREATE INDEX "select" ON "Weird Schema"."Hostile ""Table""; --" ("order");
-- constraint-backed indexes
ALTER TABLE "Weird Schema"."Hostile ""Table""; --" ADD CONSTRAINT "Unique ""pair""" UNIQUE (a, b);
ALTER TABLE "Weird Schema"."Hostile ""Table""; --" ADD CONSTRAINT no_overlap EXCLUDE USING gist (bx WITH &&);

-- a partitioned table: a partitioned index on the parent, attached indexes on the partitions
CREATE TABLE "Weird Schema"."Parted Table" (id bigint NOT NULL, "Tenant" int, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE "Weird Schema"."Parted 2025" PARTITION OF "Weird Schema"."Parted Table" FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE "Weird Schema"."Parted 2026" PARTITION OF "Weird Schema"."Parted Table" FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX "Parted Tenant idx" ON "Weird Schema"."Parted Table" ("Tenant" DESC, at) WHERE "Tenant" > 0;
CREATE UNIQUE INDEX parted_unique_idx ON "Weird Schema"."Parted Table" (id, at);

-- a materialized view
CREATE MATERIALIZED VIEW "Weird Schema"."Mat View" AS SELECT id, lower(email) AS "Lower Email" FROM "Weird Schema"."Hostile ""Table""; --";
CREATE INDEX mat_idx ON "Weird Schema"."Mat View" ("Lower Email" text_pattern_ops) WHERE id > 10;
`;

const NULLS_NOT_DISTINCT = `
CREATE UNIQUE INDEX nulls_not_distinct_idx ON "Weird Schema"."Hostile ""Table""; --" (b, "order") NULLS NOT DISTINCT;
CREATE UNIQUE INDEX nnd_include_idx ON "Weird Schema"."Hostile ""Table""; --" (email) INCLUDE (a) NULLS NOT DISTINCT WITH (fillfactor=90) WHERE a > 1;
`;

// btree_gist ships with contrib; its operator classes live in a hostile schema of their own.
const BTREE_GIST = `
CREATE SCHEMA "Ext Schema";
CREATE EXTENSION btree_gist SCHEMA "Ext Schema";
CREATE INDEX gist_btree_idx ON "Weird Schema"."Hostile ""Table""; --" USING gist (a, rng);
ALTER TABLE "Weird Schema"."Hostile ""Table""; --" ADD CONSTRAINT "No overlap per a" EXCLUDE USING gist (a WITH =, rng WITH &&);
`;

async function loadSchema(db: TestDatabase): Promise<void> {
  await db.run(SCHEMA);
  const [version] = await db.query<{ num: number }>(`SELECT current_setting('server_version_num')::int AS num`);
  if ((version?.num ?? 0) >= 150000) await db.run(NULLS_NOT_DISTINCT);
  const available = await db.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'btree_gist'`);
  if (available.length) await db.run(BTREE_GIST);
}

/** pg_get_indexdef of every user index, by name. */
async function definitions(db: TestDatabase): Promise<Map<string, string>> {
  const rows = await db.query<{ name: string; def: string }>(`
    SELECT c.relname AS name, pg_get_indexdef(c.oid) AS def
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('i', 'I') AND n.nspname = 'Weird Schema'`);
  return new Map(rows.map((row) => [row.name, row.def]));
}

function tableOf(snapshot: Snapshot, index: Index): Table {
  const table = lookup(snapshot).table(index.tableOid);
  if (!table) throw new Error(`no table for ${index.name}`);
  return table;
}

/** The definition pg_get_indexdef would print for a copy of `def` named `name`. */
function renamed(def: string, from: string, to: string): string {
  const head = ` INDEX ${quoteIdent(from)} ON `;
  expect(def).toContain(head);
  return def.replace(head, ` INDEX ${quoteIdent(to)} ON `);
}

describe('indexDefinition', () => {
  let db: TestDatabase;
  let snapshot: Snapshot;
  let original: Map<string, string>;
  let indexes: Index[];
  beforeAll(async () => {
    db = await createDatabase();
    await loadSchema(db);
    snapshot = await db.snapshot();
    original = await definitions(db);
    indexes = snapshot.indexes.filter((index) => index.schema === 'Weird Schema');
  });
  afterAll(() => db.drop());

  it('sees every index of the fixture', () => {
    expect(indexes.map((index) => index.name).sort()).toEqual([...original.keys()].sort());
    expect(indexes.length).toBeGreaterThan(50);
  });

  it('renders each index as exactly one CREATE INDEX statement', async () => {
    for (const index of indexes) {
      for (const concurrently of [false, true]) {
        const sql = indexDefinition(index, tableOf(snapshot, index), lookup(snapshot), { concurrently });
        const statements = await parseStatements(sql);
        expect(statements.map((statement) => statement.kind), sql).toEqual(['IndexStmt']);
        const node = statements[0]?.node ?? {};
        expect(node).toMatchObject({ idxname: index.name, if_not_exists: true });
        expect(Boolean(node.concurrent)).toBe(concurrently);
      }
    }
  });

  it('round-trips: a copy built from the rendered DDL has the same pg_get_indexdef as the original', async () => {
    const catalog = lookup(snapshot);
    const expected: Record<string, string> = {};
    const copies = new Map<string, string>();
    for (const [i, index] of indexes.entries()) {
      const copy = `${truncateBytes(index.name, 50)}_copy${i}`;
      copies.set(copy, index.name);
      const sql = indexDefinition(index, tableOf(snapshot, index), catalog, { concurrently: false, name: copy });
      if (process.env.SHOW_DDL) console.log(sql);
      try {
        await db.run(sql);
      } catch (error) {
        expected[copy] = `${(error as Error).message}`;
        continue;
      }
      expected[copy] = renamed(original.get(index.name) ?? '?', index.name, copy);
    }
    const after = await definitions(db);
    const actual = Object.fromEntries([...copies.keys()].map((copy) => [copy, after.get(copy) ?? 'missing']));
    expect(actual).toEqual(expected);
  });

  it('renders CONCURRENTLY builds the server runs outside a transaction', async () => {
    const index = indexes.find((candidate) => candidate.name === 'partial_quote_idx');
    if (!index) throw new Error('partial_quote_idx not collected');
    const sql = indexDefinition(index, tableOf(snapshot, index), lookup(snapshot), { concurrently: true, name: 'partial quote "concurrent"' });
    expect(sql).toMatch(/^CREATE INDEX CONCURRENTLY IF NOT EXISTS "partial quote ""concurrent""" ON /);
    await db.run(sql);
    const after = await definitions(db);
    expect(after.get('partial quote "concurrent"')).toBe(renamed(original.get('partial_quote_idx') ?? '?', 'partial_quote_idx', 'partial quote "concurrent"'));
  });
});

describe('dropIndexAction', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase();
    await loadSchema(db);
  });
  afterAll(() => db.drop());

  it('drops each droppable index and its undo rebuilds it exactly', async () => {
    const snapshot = await db.snapshot();
    const catalog = lookup(snapshot);
    const before = await definitions(db);
    // Constraint-backed indexes go with their constraint; attached partition indexes with their parent.
    const droppable = snapshot.indexes.filter((index) => index.schema === 'Weird Schema' && !index.constraint && index.parentIndexOid === null);
    expect(droppable.length).toBeGreaterThan(40);
    for (const index of droppable) {
      const action = dropIndexAction(index, tableOf(snapshot, index), catalog);
      expect((await parseStatements(action.sql)).map((s) => s.kind)).toEqual(['DropStmt']);
      expect((await parseStatements(action.undo ?? '')).map((s) => s.kind)).toEqual(['IndexStmt']);
      await db.run(action.sql);
      expect((await definitions(db)).has(index.name), action.sql).toBe(false);
      await db.run(action.undo ?? '');
    }
    const after = await definitions(db);
    for (const index of droppable) expect(after.get(index.name)).toBe(before.get(index.name));
  });
});
