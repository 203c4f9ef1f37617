import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/collect/snapshot.js';
import rule from '../../rules/invalid-index.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';
import { findingsOf } from '../helpers/findings.js';

const RECREATE = '-- Re-create the index once the cause of the failed build is fixed (after the DROP, or IF NOT EXISTS skips it).';
const UNIQUE = '-- It is unique: these keys are duplicated and made the build fail; resolve them first.';

describe('invalid-index', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('invalid-index');
  });
  afterAll(() => db.drop());

  it('reports each invalid index with a concurrent drop and a manual re-creation; not the valid look-alikes', async () => {
    expect(findingsOf(await db.scan(['invalid-index']), 'invalid-index')).toEqual([
      { severity: 'warning', schema: 'app', table: 'accounts', name: 'accounts_email_lower_key', columns: ['lower(email)'], sql: [
        'DROP INDEX CONCURRENTLY IF EXISTS app.accounts_email_lower_key;',
        [RECREATE, UNIQUE,
          'SELECT (lower(email)), count(*) FROM app.accounts WHERE (lower(email)) IS NOT NULL GROUP BY (lower(email)) HAVING count(*) > 1 ORDER BY count(*) DESC LIMIT 100;',
          'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS accounts_email_lower_key ON app.accounts USING btree ((lower(email)) COLLATE pg_catalog."default");',
        ].join('\n'),
      ] },
      { severity: 'warning', schema: 'app', table: 'bookings', name: 'bookings_room_day_key', columns: ['room_id', 'day'], sql: [
        'DROP INDEX CONCURRENTLY IF EXISTS app.bookings_room_day_key;',
        [RECREATE, UNIQUE,
          'SELECT room_id, day, count(*) FROM app.bookings WHERE (NOT cancelled) AND room_id IS NOT NULL GROUP BY room_id, day HAVING count(*) > 1 ORDER BY count(*) DESC LIMIT 100;',
          'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS bookings_room_day_key ON app.bookings USING btree (room_id, day) WHERE (NOT cancelled);',
        ].join('\n'),
      ] },
      // A leftover of REINDEX CONCURRENTLY beside its valid original: dropped, never re-created.
      { severity: 'warning', schema: 'app', table: 'codes', name: 'codes_number_idx_ccnew', columns: ['app.code_number(code)'], sql: [
        'DROP INDEX CONCURRENTLY IF EXISTS app.codes_number_idx_ccnew;',
      ] },
      // An ON ONLY index that duplicates the finished events_at_idx: dropped (no CONCURRENTLY on a partitioned index).
      { severity: 'warning', schema: 'app', table: 'events', name: 'events_at_pending_idx', columns: ['at'], sql: [
        'DROP INDEX IF EXISTS app.events_at_pending_idx;',
      ] },
      // Completed: attach the equivalent index events_2025 already has, build and attach one on events_2026.
      { severity: 'warning', schema: 'app', table: 'events', name: 'events_kind_idx', columns: ['kind'], sql: [
        'ALTER INDEX app.events_kind_idx ATTACH PARTITION app.events_2025_kind_ix;',
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS events_2026_kind_idx ON app.events_2026 USING btree (kind);',
        'ALTER INDEX app.events_kind_idx ATTACH PARTITION app.events_2026_kind_idx;',
      ] },
      { severity: 'warning', schema: 'app', table: 'Orders', name: 'Orders_Ref_idx', columns: ['("Ref"::integer)'], sql: [
        'DROP INDEX CONCURRENTLY IF EXISTS app."Orders_Ref_idx";',
        [RECREATE, 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "Orders_Ref_idx" ON app."Orders" USING btree ((("Ref"::integer)));'].join('\n'),
      ] },
    ]);
  });

  it('explains each case in its message', async () => {
    const messages = (await db.scan(['invalid-index'])).findings.map((finding) => finding.message).sort();
    expect(messages).toEqual([
      'app.Orders_Ref_idx on app.Orders is invalid (left by a failed or interrupted CREATE INDEX CONCURRENTLY): queries never use it, '
        + 'and re-running its CREATE INDEX … IF NOT EXISTS silently keeps it.',
      'app.accounts_email_lower_key on app.accounts is invalid (left by a failed or interrupted CREATE INDEX CONCURRENTLY): queries never use it, '
        + 'and re-running its CREATE INDEX … IF NOT EXISTS silently keeps it.',
      'app.bookings_room_day_key on app.bookings is invalid (left by a failed or interrupted CREATE INDEX CONCURRENTLY): queries never use it, '
        + 'and re-running its CREATE INDEX … IF NOT EXISTS silently keeps it.',
      'app.codes_number_idx_ccnew on app.codes is an invalid copy of the valid codes_number_idx (left by an interrupted REINDEX CONCURRENTLY or an abandoned ON ONLY build): '
        + 'queries never use it.',
      'app.events_at_pending_idx on app.events is an invalid copy of the valid events_at_idx (left by an interrupted REINDEX CONCURRENTLY or an abandoned ON ONLY build): '
        + 'queries never use it.',
      'app.events_kind_idx on partitioned app.events is invalid: 2 of 3 partitions have no valid index attached to it (app.events_2025, app.events_2026).',
    ]);
  });

  it('leaves alone invalid indexes on tables with an index build in progress, and on their partitioned parents', async () => {
    const snapshot = await db.snapshot();
    const oid = (name: string) => snapshot.indexes.find((index) => index.name === name)?.oid ?? -1;
    const reported = (building: string[]) => {
      const copy: Snapshot = { ...snapshot, indexesInProgress: building.map(oid) };
      return rule.check(copy, rule.options).map((finding) => finding.target.name);
    };
    expect(reported([])).toContain('accounts_email_lower_key');
    expect(reported(['accounts_email_lower_key'])).not.toContain('accounts_email_lower_key');
    expect(reported(['events_2024_kind_idx'])).not.toContain('events_kind_idx');
    expect(reported(['events_2024_kind_idx'])).toEqual(['accounts_email_lower_key', 'bookings_room_day_key', 'Orders_Ref_idx', 'codes_number_idx_ccnew']);
  });

  it('keeps REINDEX and the ATTACH after it in order, as one manual step, for an invalid index attached to a partitioned one', async () => {
    // Not in the fixture, whose script-run test expects every finding fixed without manual steps.
    const visits = await createDatabase();
    try {
      await visits.run(`
        CREATE SCHEMA app;
        CREATE TABLE app.visits (id bigint NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
        CREATE TABLE app.visits_2025 PARTITION OF app.visits FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
        INSERT INTO app.visits VALUES (1, '2025-03-01'), (1, '2025-03-01'), (2, '2025-03-02');
        CREATE UNIQUE INDEX visits_id_at_key ON ONLY app.visits (id, at);
        -- expect-error
        CREATE UNIQUE INDEX CONCURRENTLY visits_2025_id_at_key ON app.visits_2025 (id, at);
        ALTER INDEX app.visits_id_at_key ATTACH PARTITION app.visits_2025_id_at_key;`);
      const findings = findingsOf(await visits.scan(['invalid-index']), 'invalid-index');
      expect(findings).toEqual([{ severity: 'warning', schema: 'app', table: 'visits', name: 'visits_id_at_key', columns: ['id', 'at'], sql: [
        [
          '-- Run in this order (REINDEX before the ATTACH after it):',
          'REINDEX INDEX CONCURRENTLY app.visits_2025_id_at_key;',
          'ALTER INDEX app.visits_id_at_key ATTACH PARTITION app.visits_2025_id_at_key;',
        ].join('\n'),
        [
          '-- If a build fails on duplicate keys, this query lists them:',
          'SELECT id, at, count(*) FROM app.visits GROUP BY id, at HAVING count(*) > 1 ORDER BY count(*) DESC LIMIT 100;',
        ].join('\n'),
      ] }]);
      await visits.run("DELETE FROM app.visits WHERE ctid = (SELECT max(ctid) FROM app.visits WHERE id = 1)");
      for (const sql of findings[0]?.sql ?? []) await visits.run(sql);
      expect((await visits.scan(['invalid-index'])).findings).toEqual([]);
    } finally {
      await visits.drop();
    }
  });

  it('is cleared by its own fix, without the manual re-creations', async () => {
    const copy = await createDatabase('invalid-index');
    try {
      const actions = (await copy.scan(['invalid-index'])).findings.flatMap((finding) => finding.actions);
      for (const action of actions) if (action.kind !== 'manual') await copy.run(action.sql);
      expect((await copy.scan(['invalid-index'])).findings).toEqual([]);
    } finally {
      await copy.drop();
    }
  });

  it('re-creates the indexes by hand once the duplicates and bad rows its queries point at are gone', async () => {
    const copy = await createDatabase('invalid-index');
    try {
      const findings = (await copy.scan(['invalid-index'])).findings;
      const manual = (name: string) => findings.find((f) => f.target.name === name)?.actions.find((a) => a.kind === 'manual')?.sql ?? '';
      const duplicates = (name: string) => copy.query(manual(name).split('\n').find((line) => line.startsWith('SELECT')) ?? '');
      expect(await duplicates('accounts_email_lower_key')).toEqual([
        { lower: 'user7@example.com', count: '3' },
        { lower: 'user9@example.com', count: '2' },
      ]);
      expect(await duplicates('bookings_room_day_key')).toEqual([{ room_id: 5, day: expect.any(Date), count: '2' }]);

      await copy.run("DELETE FROM app.accounts WHERE id > 1000; DELETE FROM app.bookings WHERE id = 901; DELETE FROM app.\"Orders\" WHERE id = 501;");
      for (const finding of findings) for (const action of finding.actions) await copy.run(action.sql);
      expect((await copy.scan(['invalid-index'])).findings).toEqual([]);
      const rebuilt = await copy.query<{ name: string }>(
        "SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indisvalid AND indexrelid::regclass::text IN ('app.accounts_email_lower_key', 'app.bookings_room_day_key', 'app.\"Orders_Ref_idx\"') ORDER BY 1");
      expect(rebuilt.map((row) => row.name)).toEqual(['app."Orders_Ref_idx"', 'app.accounts_email_lower_key', 'app.bookings_room_day_key']);
    } finally {
      await copy.drop();
    }
  });
});
