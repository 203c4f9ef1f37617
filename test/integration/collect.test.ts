import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectSequences } from '../../src/collect/sequences.js';
import { resolveConnection } from '../../src/connect/options.js';
import { openSession, SCAN_SESSION } from '../../src/connect/session.js';
import { runCli } from '../helpers/cli.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

/**
 * The statements a full `perfaudit scan` (the built CLI: collection, every rule, and the
 * verification step, which without hypopg sends nothing) sent to a database, as
 * pg_stat_statements counted them.
 */
async function statementsOfScan(database: TestDatabase): Promise<number> {
  const thisDatabase = '(SELECT oid FROM pg_database WHERE datname = current_database())';
  await database.query(`SELECT pg_stat_statements_reset(0, ${thisDatabase}, 0)`);
  const scan = await runCli(['scan', '-d', database.url, '--format', 'json', '--fail-on', 'none']);
  expect(scan.code, scan.stderr).toBe(0);
  // The tag spelled in two pieces, so this query does not count itself.
  const rows = await database.query<{ statements: number }>(`SELECT coalesce(sum(calls), 0)::int AS statements FROM pg_stat_statements
    WHERE dbid = ${thisDatabase} AND position(('/* perf' || 'audit */') in query) > 0`);
  return rows[0]?.statements ?? 0;
}

describe('collect', () => {
  let small: TestDatabase;
  let large: TestDatabase;
  beforeAll(async () => {
    small = await createDatabase();
    large = await createDatabase();
    await small.run('CREATE EXTENSION pg_stat_statements; CREATE TABLE one (id int PRIMARY KEY);');
    await large.run('CREATE EXTENSION pg_stat_statements;');
    await large.run(`DO $$ BEGIN
      FOR i IN 1..300 LOOP
        EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, parent int REFERENCES t%s, note text)', i, greatest(i - 1, 1));
        EXECUTE format('CREATE INDEX ON t%s (note) WHERE note IS NOT NULL', i);
      END LOOP; END $$;`);
  });
  afterAll(async () => {
    await small.drop();
    await large.drop();
  });

  it('sends the same fixed number of statements whatever the schema size, for a whole scan', async () => {
    const few = await statementsOfScan(small);
    const many = await statementsOfScan(large);
    expect(few).toBe(25);
    expect(many).toBe(few);
    const snapshot = await large.snapshot();
    expect(snapshot.tables).toHaveLength(300);
    expect(snapshot.indexes).toHaveLength(600);
    expect(snapshot.foreignKeys).toHaveLength(300);
  });

  it('runs read-only, tagged and named perfaudit, with timeouts', async () => {
    const session = await openSession(resolveConnection(small.url), SCAN_SESSION);
    try {
      const settings = await session.client.query(
        "SELECT current_setting('default_transaction_read_only') AS ro, current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt, current_setting('application_name') AS app");
      expect(settings.rows[0]).toEqual({ ro: 'on', st: '30s', lt: '2s', app: 'perfaudit' });
      await expect(session.client.query('CREATE TABLE nope (id int)')).rejects.toThrow(/read-only transaction/);
    } finally {
      await session.close();
    }
    const rows = await small.query<{ query: string }>(
      "SELECT query FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database() AND position(('pg_stat' || '_all_tables') in query) > 0");
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((row) => !row.query.startsWith('SELECT /* perfaudit */')).map((row) => row.query)).toEqual([]);
  });

  it('redacts settings that can hold secrets', async () => {
    const snapshot = await small.snapshot();
    expect(snapshot.server.settings.primary_conninfo ?? '').not.toMatch(/password/);
    expect(snapshot.server.settings.shared_preload_libraries).toBe('pg_stat_statements');
    // The application's search_path, not the scan session's own pg_catalog.
    expect(snapshot.server.settings.search_path).toBe('"$user", public');
    await small.query(`ALTER DATABASE ${small.name} SET search_path = app, public`);
    expect((await small.snapshot()).server.settings.search_path).toBe('app, public');
  });

  it('sees what holds the xmin horizon back, and the freeze ages', async () => {
    const holder = new pg.Client({ connectionString: small.url });
    await holder.connect();
    try {
      await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const { rows } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const snapshot = await small.snapshot();
      expect(snapshot.server.horizonHolders).toContainEqual(expect.objectContaining({ kind: 'session', name: String(rows[0]?.pid) }));
      expect(snapshot.server.databaseFrozenXidAge).toBeGreaterThan(0);
      expect(snapshot.tables.find((table) => table.name === 'one')?.stats).toMatchObject({ vacuumCount: 0, insertedSinceVacuum: 0 });
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });

  it('reads sequences\' last values without keeping a lock on each, also those the role may only use', async () => {
    const role = 'perfaudit_sequence_reader';
    await small.run(`CREATE SEQUENCE used_seq; SELECT nextval('used_seq'); SELECT nextval('used_seq');
      CREATE SEQUENCE usage_only_seq; SELECT nextval('usage_only_seq'); CREATE SEQUENCE fresh_seq;
      CREATE ROLE ${role} LOGIN PASSWORD 'x';
      GRANT SELECT ON used_seq, fresh_seq TO ${role}; GRANT USAGE ON usage_only_seq TO ${role};`);
    try {
      const url = new URL(small.url);
      url.username = role;
      url.password = 'x';
      const session = await openSession(resolveConnection(url.toString()), SCAN_SESSION);
      try {
        await session.client.query('BEGIN');
        const { sequences } = await collectSequences(session.db, 180000);
        const locked = await session.client.query<{ name: string }>(
          "SELECT c.relname AS name FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.pid = pg_backend_pid() AND c.relkind = 'S'");
        await session.client.query('COMMIT');
        expect(Object.fromEntries(sequences.map((sequence) => [sequence.name, sequence.lastValue])))
          .toEqual({ used_seq: '2', usage_only_seq: '1', fresh_seq: null });
        // PostgreSQL 18's pg_get_sequence_data() needs SELECT; only the USAGE-only sequence is read under a lock.
        expect(locked.rows.map((row) => row.name)).toEqual(['usage_only_seq']);
      } finally {
        await session.close();
      }
    } finally {
      await small.run(`DROP OWNED BY ${role}; DROP ROLE ${role};`);
    }
  });
});
