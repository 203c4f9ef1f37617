import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectSnapshot } from '../../src/collect/collect.js';
import { sampleDifference } from '../../src/collect/sample.js';
import { resolveConnection } from '../../src/connect/options.js';
import { openSession, SCAN_SESSION } from '../../src/connect/session.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

describe('workload collection (pg_stat_statements)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase();
    await db.run(`
      CREATE EXTENSION pg_stat_statements;
      CREATE TABLE items (id int PRIMARY KEY, owner int, note text);
      INSERT INTO items SELECT g, g % 10, 'n' FROM generate_series(1, 1000) g;`);
    await db.query("CREATE ROLE perfaudit_secret_role LOGIN PASSWORD 'Hunter2-in-clear'");
    await db.query("ALTER ROLE perfaudit_secret_role PASSWORD 'Hunter3-in-clear'");
    for (let i = 0; i < 25; i++) await db.query('SELECT * FROM items WHERE id = $1', [i]);
  });
  afterAll(async () => {
    await db.query('DROP ROLE perfaudit_secret_role');
    await db.drop();
  });

  it('reads this database\'s statements, redacted, without perfaudit\'s own', async () => {
    const snapshot = await db.snapshot();
    expect(snapshot.workload.unavailable).toBeNull();
    const lookup = snapshot.workload.statements.find((s) => s.query === 'SELECT * FROM items WHERE id = $1');
    expect(lookup).toMatchObject({ calls: 25, rows: 24 });
    expect(lookup?.meanTimeMs).toBeGreaterThan(0);
    const roles = snapshot.workload.statements.filter((s) => s.query.includes('perfaudit_secret_role')).map((s) => s.query).sort();
    expect(roles).toEqual([
      "ALTER ROLE perfaudit_secret_role PASSWORD '…'",
      "CREATE ROLE perfaudit_secret_role LOGIN PASSWORD '…'",
    ]);
    expect(JSON.stringify(snapshot)).not.toMatch(/Hunter[23]-in-clear/);
    expect(snapshot.workload.statements.filter((s) => s.query.includes('perfaudit */'))).toEqual([]);
    expect(snapshot.workload.deallocations).toBe(0);
  });

  it('samples: counters become the change over the window', async () => {
    const session = await openSession(resolveConnection(db.url), SCAN_SESSION);
    try {
      const before = await collectSnapshot(session);
      for (let i = 0; i < 7; i++) await db.query('SELECT * FROM items WHERE id = $1', [i]);
      await db.query('SELECT count(*) FROM items WHERE owner = 3');
      const after = await collectSnapshot(session);
      const sampled = sampleDifference(before, after);
      expect(sampled.workload.sampleSeconds).toBeGreaterThan(0);
      const calls = Object.fromEntries(sampled.workload.statements.map((s) => [s.query, s.calls]));
      expect(calls['SELECT * FROM items WHERE id = $1']).toBe(7);
      expect(calls['SELECT count(*) FROM items WHERE owner = $1']).toBe(1);
      const items = sampled.tables.find((t) => t.name === 'items');
      expect(items?.stats?.seqScan).toBe(1);
    } finally {
      await session.close();
    }
  });

  it('says why when the role may not read other roles\' statements', async () => {
    await db.query("CREATE ROLE perfaudit_nobody LOGIN PASSWORD 'x'");
    try {
      const url = new URL(db.url);
      url.username = 'perfaudit_nobody';
      url.password = 'x';
      const session = await openSession(resolveConnection(url.toString()), SCAN_SESSION);
      try {
        const snapshot = await collectSnapshot(session);
        expect(snapshot.workload.statements).toEqual([]);
        expect(snapshot.workload.hiddenStatements).toBeGreaterThan(0);
        expect(snapshot.workload.unavailable).toBe(
          "the role perfaudit_nobody may not read other roles' statements (GRANT pg_read_all_stats TO perfaudit_nobody;)");
      } finally {
        await session.close();
      }
    } finally {
      await db.query('DROP ROLE perfaudit_nobody');
    }
  });
});
