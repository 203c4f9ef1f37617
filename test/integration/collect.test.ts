import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectSnapshot } from '../../src/collect/collect.js';
import { resolveConnection } from '../../src/connect/options.js';
import { openSession, SCAN_SESSION } from '../../src/connect/session.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

async function statementsToCollect(url: string): Promise<number> {
  const session = await openSession(resolveConnection(url), SCAN_SESSION);
  try {
    await collectSnapshot(session);
    return session.statementCount();
  } finally {
    await session.close();
  }
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

  it('sends the same fixed number of statements whatever the schema size', async () => {
    const few = await statementsToCollect(small.url);
    const many = await statementsToCollect(large.url);
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
});
