import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type TestDatabase } from '../helpers/db.js';
import { findingsOf } from '../helpers/findings.js';

describe('missing-primary-key', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('missing-primary-key');
  });
  afterAll(() => db.drop());

  it('reports each table without a primary key once, promoting a unique index where one qualifies; not the look-alikes', async () => {
    expect(findingsOf(await db.scan(['missing-primary-key']), 'missing-primary-key')).toEqual([
      { severity: 'warning', schema: 'app', table: 'audit_log', name: null, columns: [], sql: [[
        '-- No unique index can become the primary key. If some columns are unique and NOT NULL in practice, build a unique',
        '-- index on them concurrently and ADD PRIMARY KEY USING INDEX. Otherwise add a surrogate key; this REWRITES the',
        '-- whole table and holds ACCESS EXCLUSIVE (no reads or writes) until done:',
        'ALTER TABLE app.audit_log ADD COLUMN row_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;',
      ].join('\n')] },
      { severity: 'warning', schema: 'app', table: 'countries', name: null, columns: [], sql: [[
        '-- An index that backs a UNIQUE constraint cannot become the primary key: build a twin, promote it, then drop',
        '-- the constraint (that fails while foreign keys reference it; keep it then, or re-point them first).',
        'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS countries_pkey ON app.countries USING btree (code);',
        'ALTER TABLE app.countries ADD PRIMARY KEY USING INDEX countries_pkey;',
        'ALTER TABLE app.countries DROP CONSTRAINT countries_code_key;',
      ].join('\n')] },
      // The narrowest qualifying index; not the expression, partial or descending ones.
      { severity: 'warning', schema: 'app', table: 'customers', name: null, columns: [],
        sql: ['ALTER TABLE app.customers ADD PRIMARY KEY USING INDEX customers_email_key;'] },
      { severity: 'warning', schema: 'app', table: 'devices', name: null, columns: [], sql: [[
        '-- The unique index can become the primary key once its nullable columns are NOT NULL. SET NOT NULL fails while',
        '-- a NULL remains, and reads the whole table under ACCESS EXCLUSIVE unless a validated CHECK (… IS NOT NULL) proves it.',
        'ALTER TABLE app.devices ALTER COLUMN serial SET NOT NULL;',
        'ALTER TABLE app.devices ADD PRIMARY KEY USING INDEX devices_serial_key;',
      ].join('\n')] },
      { severity: 'warning', schema: 'app', table: 'events', name: null, columns: [], sql: [[
        '-- A partitioned table refuses ADD PRIMARY KEY USING INDEX, and its primary key must include the partition key.',
        '-- ADD PRIMARY KEY on it builds a unique index on every partition while holding ACCESS EXCLUSIVE locks.',
        'ALTER TABLE app.events ADD PRIMARY KEY (id, at);',
      ].join('\n')] },
      // Not the NULLS NOT DISTINCT twin, which PostgreSQL refuses as a primary key.
      { severity: 'warning', schema: 'app', table: 'Sensor Readings', name: null, columns: [],
        sql: ['ALTER TABLE app."Sensor Readings" ADD PRIMARY KEY USING INDEX "Sensor Readings_key";'] },
    ]);
  });

  it('says which way out each table has', async () => {
    const findings = (await db.scan(['missing-primary-key'])).findings;
    const customers = findings.find((f) => f.target.table === 'customers');
    expect(customers?.message).toBe('app.customers (2000 rows) has no primary key; its unique index customers_email_key on NOT NULL columns can become one.');
    expect(customers?.evidence).toEqual({ tableRows: 2000, candidateIndex: 'customers_email_key' });
    expect(customers?.actions[0]).toMatchObject({ kind: 'alter-table', transactional: true, lock: 'ACCESS EXCLUSIVE' });
    expect(findings.find((f) => f.target.table === 'devices')?.message)
      .toBe('app.devices (500 rows) has no primary key; unique index devices_serial_key could become one once serial is NOT NULL.');
    expect(findings.find((f) => f.target.table === 'events')?.message)
      .toBe('app.events (partitioned, 2000 rows) has no primary key; its unique index events_id_at_key shows the key, but partitioned tables need a new index for it.');
  });

  it('is cleared by its own fix, the manual steps included', async () => {
    const copy = await createDatabase('missing-primary-key');
    try {
      const before = (await copy.scan(['missing-primary-key'])).findings;
      for (const action of before.flatMap((f) => f.actions)) await copy.run(action.sql);
      expect((await copy.scan(['missing-primary-key'])).findings).toEqual([]);
    } finally {
      await copy.drop();
    }
  });
});
