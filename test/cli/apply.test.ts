import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../helpers/cli.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

const FAST = { PERFAUDIT_RETRY_BASE_MS: '100' };
const dir = mkdtempSync(join(tmpdir(), 'perfaudit-apply-'));

const invalidIndexes = (db: TestDatabase) =>
  db.query<{ name: string }>(`SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid AND n.nspname = 'app' ORDER BY 1`);

const rowCounts = (db: TestDatabase) =>
  db.query<{ table: string; n: number }>(`SELECT format('%I.%I', schemaname, relname) AS table,
    (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', schemaname, relname), false, true, '')))[1]::text::int AS n
    FROM pg_stat_user_tables ORDER BY 1`);

describe('perfaudit apply (CLI)', () => {
  const dbs: TestDatabase[] = [];
  const fresh = async (fixture?: string) => {
    const db = await createDatabase(fixture);
    dbs.push(db);
    return db;
  };
  afterAll(async () => {
    for (const db of dbs) await db.drop().catch(() => undefined);
  });

  it('fixes every applicable finding, touches no row, and logs one line per statement', async () => {
    const db = await fresh('missing-fk-index');
    await db.run(`CREATE INDEX features_title_a ON app.features (title);
      CREATE INDEX features_title_b ON app.features (title);`);
    const rules = ['missing-fk-index', 'duplicate-index'];
    expect((await db.scan(rules)).findings.length).toBeGreaterThan(0);
    const before = await rowCounts(db);
    const log = join(dir, 'fix.jsonl');
    const result = await runCli(['apply', '-d', db.url, '--only', rules.join(','), '--yes', '--log', log], FAST);
    expect(result.stderr).toMatch(/\[1\/\d+\] .* done in \d+\.\d s/);
    expect(result.code).toBe(0);
    const after = (await db.scan(rules)).findings;
    expect(after.filter((f) => f.actions.some((a) => a.kind === 'create-index' || a.kind === 'drop-index'))).toEqual([]);
    expect(await rowCounts(db)).toEqual(before);
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    // Step lines only, not the `[i/n]   building index: …` progress lines.
    const steps = result.stderr.split('\n').filter((line) => /^\[\d+\/\d+\] \S/.test(line)).length;
    expect(steps).toBeGreaterThan(1);
    // One line per plan statement, plus one per invalid leftover it dropped first.
    expect(lines.length).toBe(steps + (result.stderr.match(/dropped the invalid index/g)?.length ?? 0));
    for (const line of lines) {
      expect(line).toEqual(expect.objectContaining({ sql: expect.any(String), startedAt: expect.any(String), durationMs: expect.any(Number), attempts: expect.any(Number) }));
      expect(['done', 'skipped']).toContain(line.outcome);
    }
    expect(lines.some((line) => /^DROP INDEX CONCURRENTLY IF EXISTS app\.features_title_[ab];$/.test(line.sql) && line.outcome === 'done')).toBe(true);
    expect(await invalidIndexes(db)).toEqual([{ name: 'reviews_project_id_key' }]); // invalid-index not named: left alone
  });

  it('refuses without --yes when there is no terminal', async () => {
    const db = await fresh('duplicate-index');
    const result = await runCli(['apply', '-d', db.url]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('--yes');
  });

  it('--dry-run prints the statements and writes nothing', async () => {
    const db = await fresh('duplicate-index');
    const catalog = () => db.query('SELECT count(*)::int AS n FROM pg_class');
    const before = await catalog();
    const result = await runCli(['apply', '-d', db.url, '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/DROP INDEX CONCURRENTLY IF EXISTS/);
    expect(await catalog()).toEqual(before);
    expect((await db.scan(['duplicate-index'])).findings.length).toBeGreaterThan(0);
  });

  it('waits out a conflicting lock with retries and then succeeds, leaving no invalid index', async () => {
    const db = await fresh('missing-fk-index');
    const holder = await lockFeatures(db.url);
    try {
      const log = join(dir, 'lock.jsonl');
      const applying = startCli(['apply', '-d', db.url, '--only', 'missing-fk-index', '--yes', '--lock-timeout', '200ms', '--max-retries', '8', '--log', log], FAST);
      // Released once apply has timed out on it and is backing off.
      let stderr = '';
      await new Promise<void>((resolve) => applying.child.stderr?.on('data', (chunk: Buffer) => /lock timeout, retry/.test(stderr += chunk) && resolve()));
      await holder.query('ROLLBACK');
      const result = await applying.done;
      expect(result.stderr).toMatch(/lock timeout, retry 1\//);
      expect(result.code).toBe(0);
      const lines = readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
      const features = lines.find((line) => /ON app\.features \(project_id\)/.test(line.sql));
      expect(features).toEqual(expect.objectContaining({ outcome: 'done' }));
      expect(features.attempts).toBeGreaterThan(1);
      expect(await invalidIndexes(db)).toEqual([{ name: 'reviews_project_id_key' }]);
      expect((await db.scan(['missing-fk-index'])).findings.filter((f) => f.target.table === 'features')).toEqual([]);
    } finally {
      await holder.end();
    }
  });

  it('gives up after --max-retries lock timeouts, reports it and exits 1', async () => {
    const db = await fresh('missing-fk-index');
    const holder = await lockFeatures(db.url);
    try {
      const log = join(dir, 'giveup.jsonl');
      const result = await runCli(['apply', '-d', db.url, '--only', 'missing-fk-index', '--yes', '--lock-timeout', '100ms', '--max-retries', '2', '--log', log], FAST);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/gave up after 3 lock timeouts/);
      const lines = readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
      expect(lines.find((line) => /ON app\.features \(project_id\)/.test(line.sql))).toEqual(expect.objectContaining({ outcome: 'lock-timeout', attempts: 3 }));
      await holder.query('ROLLBACK');
      expect(await invalidIndexes(db)).toEqual([{ name: 'reviews_project_id_key' }]);
      await expectSecondRunFinishes(db);
    } finally {
      await holder.end();
    }
  });

  it('a build killed mid-way leaves no invalid index, and apply exits 1 saying why', async () => {
    const db = await fresh();
    await db.run(`CREATE SCHEMA app;
      CREATE TABLE app.parents (id bigint PRIMARY KEY);
      INSERT INTO app.parents SELECT g FROM generate_series(1, 2000) g;
      CREATE TABLE app.children (id bigint PRIMARY KEY, parent_id bigint NOT NULL REFERENCES app.parents ON DELETE CASCADE, pad text);
      ALTER TABLE app.children DISABLE TRIGGER ALL;
      INSERT INTO app.children SELECT g, 1 + g % 1990, md5(g::text) FROM generate_series(1, 2000000) g;
      ALTER TABLE app.children ENABLE TRIGGER ALL;
      DELETE FROM app.parents WHERE id > 1990;
      ANALYZE;`);
    const admin = new pg.Client({ connectionString: db.url });
    admin.on('error', () => undefined);
    await admin.connect();
    try {
      const applying = runCli(['apply', '-d', db.url, '--only', 'missing-fk-index', '--yes'], FAST);
      let killed = false;
      for (let i = 0; i < 600 && !killed; i++) {
        const { rows } = await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND query LIKE 'CREATE /* perfaudit */ INDEX CONCURRENTLY%children%' AND state = 'active'`);
        if (rows[0]) {
          await new Promise((resolve) => setTimeout(resolve, 150));
          await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
          killed = true;
        } else {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      const result = await applying;
      expect(killed).toBe(true);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/CREATE INDEX CONCURRENTLY .* failed: /);
      expect(result.stderr).toMatch(/dropped the invalid index app\.children_\w+ left behind/);
      expect(await invalidIndexes(db)).toEqual([]);
      await expectSecondRunFinishes(db);
    } finally {
      await admin.end();
    }
  }, 120_000);

  it('reports the progress of a long index build on stderr (no terminal: plain lines)', async () => {
    const db = await fresh();
    await db.run(`CREATE SCHEMA app;
      CREATE TABLE app.parents (id bigint PRIMARY KEY);
      INSERT INTO app.parents SELECT g FROM generate_series(1, 1000) g;
      CREATE TABLE app.children (id bigint PRIMARY KEY, parent_id bigint NOT NULL REFERENCES app.parents);
      ALTER TABLE app.children DISABLE TRIGGER ALL;
      INSERT INTO app.children SELECT g, 1 + g % 1000 FROM generate_series(1, 2000000) g;
      ALTER TABLE app.children ENABLE TRIGGER ALL;
      ANALYZE;`);
    const result = await runCli(['apply', '-d', db.url, '--only', 'missing-fk-index', '--yes'], FAST);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^\[1\/1\] {3}building index: .+$/m);
    expect(result.stderr).toMatch(/\[1\/1\] CREATE INDEX CONCURRENTLY .* done in/);
  }, 120_000);
});

/** Running apply again after a failure does the rest: no missing-fk-index finding is left. */
async function expectSecondRunFinishes(db: TestDatabase): Promise<void> {
  const again = await runCli(['apply', '-d', db.url, '--only', 'missing-fk-index', '--yes'], FAST);
  expect(again.stderr).toMatch(/ 0 failed, 0 gave up on lock timeouts\n$/);
  expect(again.code).toBe(0);
  const left = (await db.scan(['missing-fk-index'])).findings;
  expect(left.filter((f) => f.actions.some((a) => a.kind === 'create-index'))).toEqual([]);
}

/** A second session holding SHARE on app.features, which CREATE INDEX CONCURRENTLY waits for. */
async function lockFeatures(url: string): Promise<pg.Client> {
  const holder = new pg.Client({ connectionString: url });
  holder.on('error', () => undefined);
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query('LOCK TABLE app.features IN SHARE MODE');
  return holder;
}
