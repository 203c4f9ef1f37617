import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainCost, isSkipped, verifyDrop, verifyIndex, type Explained, type Planned, type Verification } from '../../src/advisor/hypopg.js';
import { resolveConnection } from '../../src/connect/options.js';
import { openSession, SCAN_SESSION, tagged, type Session } from '../../src/connect/session.js';
import { withClient } from '../../src/embedded/server.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';
import { requireSystemPostgres, startSystemPostgres, type SystemPostgres } from '../helpers/system-postgres.js';

const BY_A = 'SELECT * FROM t WHERE a = $1';
const BY_C = 'SELECT id, c FROM t WHERE c = $1';
const BY_B_SORTED = 'SELECT * FROM t WHERE b = $1 ORDER BY id LIMIT $2';

const SCHEMA = `
  CREATE TABLE t (id int PRIMARY KEY, a int, b int, c text);
  INSERT INTO t SELECT g, g, g % 100, md5(g::text) FROM generate_series(1, 50000) g;
  CREATE INDEX t_c_idx ON t (c);
  ANALYZE t;`;

/** A query through the scan session, tagged like every statement perfaudit sends. */
async function sessionQuery<Row>(session: Session, text: string): Promise<Row[]> {
  return (await sql.raw<Row>(tagged(text)).execute(session.db)).rows;
}

/** The verdicts of a verification in which no statement was skipped. */
function verdicts<V extends object>(result: Verification<V>): V[] {
  expect(result.error).toBeNull();
  return result.statements.map((s) => {
    if (isSkipped(s)) throw new Error(`${s.statement} was skipped: ${s.skipped}`);
    return s;
  });
}

function planned(result: Explained): Planned {
  if (isSkipped(result)) throw new Error(`${result.statement} was skipped: ${result.skipped}`);
  return result;
}

// hypopg is not in the embedded PostgreSQL 18: these run on the machine's PostgreSQL 15
// with Debian's postgresql-15-hypopg, which .ci/run installs. Missing ones fail the run.
describe('hypopg verification (PostgreSQL 15, PREPARE path)', () => {
  let server: SystemPostgres;
  let session: Session;
  let admin: pg.Client;
  let indexCount: number;
  let tCIdx: number;

  beforeAll(async () => {
    requireSystemPostgres(['hypopg']);
    server = await startSystemPostgres();
    await withClient(server.url(), (client) => client.query('CREATE DATABASE advisor'));
    admin = new pg.Client({ connectionString: server.url('advisor') });
    await admin.connect();
    await admin.query(`CREATE EXTENSION hypopg; CREATE EXTENSION pg_stat_statements; ${SCHEMA}`);
    indexCount = Number((await admin.query('SELECT count(*) FROM pg_index')).rows[0].count);
    tCIdx = (await admin.query<{ oid: number }>("SELECT 't_c_idx'::regclass::oid AS oid")).rows[0]!.oid;
    session = await openSession(resolveConnection(server.url('advisor')), SCAN_SESSION);
    await admin.query('SELECT pg_stat_statements_reset()');
  }, 60_000);

  afterAll(async () => {
    await session?.close();
    await admin?.end();
    await server?.stop();
  });

  it('runs in a read-only session on a server older than 16', async () => {
    const [row] = await sessionQuery<{ ro: string; v: number }>(session, "SELECT current_setting('transaction_read_only') AS ro, current_setting('server_version_num')::int AS v");
    expect(row).toMatchObject({ ro: 'on' });
    expect(row!.v).toBeLessThan(160000);
  });

  it('explains the generic plan of a normalized statement', async () => {
    const result = planned(await explainCost(session, BY_A));
    console.log(`PG15 explainCost(${BY_A}) = ${result.cost}`);
    expect(result.cost).toBeGreaterThan(500); // a sequential scan of 50,000 rows
    expect(result.indexes).toEqual([]);
    // UPDATEs are explained (never run) in the read-only session too.
    expect(planned(await explainCost(session, 'UPDATE t SET b = $1 WHERE id = $2')).indexes).toEqual(['t_pkey']);
  });

  it('verifies a useful hypothetical index and rejects a useless one', async () => {
    const useful = await verifyIndex(session, [BY_A, BY_C], 'CREATE INDEX CONCURRENTLY t_a_idx ON public.t USING btree (a)');
    expect(useful.error).toBeNull();
    const [byA, byC] = verdicts(useful);
    console.log(`PG15 verifyIndex t(a): ${BY_A} ${byA!.before} → ${byA!.after}; ${BY_C} ${byC!.before} → ${byC!.after}`);
    expect(byA!.usesIndex).toBe(true);
    expect(byA!.after).toBeLessThan(byA!.before / 50);
    expect(byC).toMatchObject({ usesIndex: false });
    expect(byC!.after).toBe(byC!.before);

    const useless = await verifyIndex(session, [BY_A], 'CREATE INDEX ON t (b)');
    const [same] = verdicts(useless);
    console.log(`PG15 verifyIndex t(b) for ${BY_A}: ${same!.before} → ${same!.after}`);
    expect(same).toMatchObject({ usesIndex: false, before: byA!.before, after: byA!.before });

    expect(await verifyIndex(session, [BY_A], 'CREATE INDEX ON no_such_table (a)')).toMatchObject({ error: expect.stringMatching(/no_such_table/), statements: [] });
  });

  it('tells which statements a dropped index would change', async () => {
    const result = await verifyDrop(session, [BY_C, BY_A], tCIdx);
    console.log(`PG15 verifyDrop t_c_idx: ${JSON.stringify(result)}`);
    expect(result.error).toBeNull();
    const [byC, byA] = result.statements;
    expect(byC).toMatchObject({ usedIndex: true, changed: true });
    expect(byA).toMatchObject({ usedIndex: false, changed: false });
    if (result.note === null) {
      // hypopg 1.4+: the index was really hidden and the costs re-planned.
      expect((byC as { after: number }).after).toBeGreaterThan((byC as { before: number }).before * 10);
    } else {
      // Debian bookworm ships hypopg 1.3.1, which has no hypopg_hide_index.
      expect(result.note).toMatch(/hypopg_hide_index needs 1\.4/);
      expect(byC).toMatchObject({ after: null });
    }
  });

  it('skips what it cannot explain, with the reason, and goes on', async () => {
    const statements = ['VACUUM t', 'SELECT * FROM t WHERE $1 IS NULL', 'SELECT 1; DROP TABLE t', 'SELECT * FROM gone WHERE a = $1', BY_A];
    const result = await verifyIndex(session, statements, 'CREATE INDEX ON t (a)');
    const reasons = result.statements.map((s) => (isSkipped(s) ? s.skipped : 'verified'));
    console.log(`PG15 skipped: ${JSON.stringify(reasons)}`);
    expect(reasons[0]).toMatch(/syntax error/);
    expect(reasons[1]).toMatch(/could not determine data type of parameter \$1/);
    expect(reasons[2]).toMatch(/semicolon/);
    expect(reasons[3]).toMatch(/relation "gone" does not exist/);
    expect(reasons[4]).toBe('verified');
    expect(isSkipped(await explainCost(session, 'CREATE TABLE x (a int)'))).toBe(true);
  });

  it('leaves nothing behind: no real index, no hypothetical one, no prepared statement, no setting', async () => {
    expect(Number((await admin.query('SELECT count(*) FROM pg_index')).rows[0].count)).toBe(indexCount);
    // Hypothetical indexes and prepared statements are backend-local: ask the session itself.
    const [left] = await sessionQuery<{ hypo: string; prepared: string; path: string; mode: string }>(session, `
      SELECT (SELECT count(*) FROM public.hypopg_list_indexes) AS hypo,
             (SELECT count(*) FROM pg_prepared_statements) AS prepared,
             current_setting('search_path') AS path, current_setting('plan_cache_mode') AS mode`);
    expect(left).toEqual({ hypo: '0', prepared: '0', path: 'pg_catalog', mode: 'auto' });
  });

  it('tags every statement it sent, so pg_stat_statements readers can exclude them', async () => {
    const { rows } = await admin.query<{ query: string }>("SELECT query FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%pg_index%'");
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.filter((r) => !r.query.includes('/* perfaudit */')).map((r) => r.query)).toEqual([]);
  });
});

// The embedded PostgreSQL 18 (no hypopg): the EXPLAIN (GENERIC_PLAN) path, and what
// verification says without the extension.
describe('generic plans on PostgreSQL 16+ (embedded 18, no hypopg)', () => {
  let db: TestDatabase;
  let session: Session;
  beforeAll(async () => {
    db = await createDatabase();
    await db.run(SCHEMA);
    session = await openSession(resolveConnection(db.url), SCAN_SESSION);
  });
  afterAll(async () => {
    await session?.close();
    await db?.drop();
  });

  it('explains with GENERIC_PLAN and skips what it cannot explain', async () => {
    const [row] = await sessionQuery<{ v: number }>(session, "SELECT current_setting('server_version_num')::int AS v");
    expect(row!.v).toBeGreaterThanOrEqual(160000);
    const byA = planned(await explainCost(session, BY_A));
    const byC = planned(await explainCost(session, BY_C));
    const sorted = planned(await explainCost(session, BY_B_SORTED));
    console.log(`PG18 explainCost: ${BY_A} = ${byA.cost}; ${BY_C} = ${byC.cost}; ${BY_B_SORTED} = ${sorted.cost}`);
    expect(byA.cost).toBeGreaterThan(500);
    expect(byC.indexes).toEqual(['t_c_idx']);
    expect(byC.cost).toBeLessThan(byA.cost / 50);
    // (GENERIC_PLAN accepts parameters of unknown type, which PREPARE refuses.)
    expect(await explainCost(session, 'SELECT * FROM gone WHERE a = $1')).toMatchObject({ skipped: expect.stringMatching(/"gone" does not exist/) });
    expect(await explainCost(session, 'VACUUM t')).toMatchObject({ skipped: expect.stringMatching(/syntax error/) });
  });

  it('without hypopg: no index verification, drops judged from the current plans', async () => {
    expect(await verifyIndex(session, [BY_A], 'CREATE INDEX ON t (a)')).toMatchObject({ error: expect.stringMatching(/hypopg extension is not installed/) });
    const oid = (await db.query<{ oid: number }>("SELECT 't_c_idx'::regclass::oid AS oid"))[0]!.oid;
    const result = await verifyDrop(session, [BY_C, BY_A], oid);
    expect(result.note).toMatch(/hypopg is not installed/);
    expect(result.statements).toMatchObject([{ usedIndex: true, changed: true, after: null }, { usedIndex: false, changed: false }]);
  });
});
