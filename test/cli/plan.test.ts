import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

describe('perfaudit plan (CLI)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('vacuum-overdue');
    await db.run(`
      CREATE TABLE app.parents (id int PRIMARY KEY);
      CREATE TABLE app.children (id int PRIMARY KEY, parent_id int REFERENCES app.parents);
      CREATE INDEX children_a ON app.children (id, parent_id);
      CREATE INDEX children_b ON app.children (id, parent_id);`);
  });
  afterAll(() => db.drop());

  it('orders drops, builds, table changes and maintenance, with locks and whether each runs online', async () => {
    const result = await runCli(['plan', '-d', db.url, '--format', 'json', '--only', 'duplicate-index,missing-fk-index,vacuum-overdue']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan.steps.map((step: { kind: string; sql: string; online: boolean }) => [step.kind, step.sql, step.online])).toEqual([
      ['drop-index', 'DROP INDEX CONCURRENTLY IF EXISTS app.children_b;', true],
      ['create-index', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS children_parent_id_idx ON app.children (parent_id);', true],
      // Maintenance by urgency: the most dead tuples first.
      ['vacuum', 'VACUUM (ANALYZE, VERBOSE) app.orders;', true],
      ['vacuum', 'VACUUM (ANALYZE, VERBOSE) app.events_2025;', true],
      ['vacuum', 'VACUUM (ANALYZE, VERBOSE) app.sessions;', true],
    ]);
    expect(plan.steps[0].findings).toEqual([expect.objectContaining({ rule: 'duplicate-index' })]);
  });

  it('writes the same plan as a psql script, and nothing to the database', async () => {
    const before = await db.query('SELECT count(*)::int AS n FROM pg_class');
    const result = await runCli(['plan', '-d', db.url, '--only', 'vacuum-overdue']);
    expect(result.stdout).toContain('-- lock SHARE UPDATE EXCLUSIVE (online); not transactional\nVACUUM (ANALYZE, VERBOSE) app.orders;');
    expect(await db.query('SELECT count(*)::int AS n FROM pg_class')).toEqual(before);
  });
});
