import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze/engine.js';
import { loadRules } from '../../src/analyze/registry.js';
import type { Snapshot } from '../../src/collect/snapshot.js';
import { EMPTY_CONFIG } from '../../src/config/load.js';
import { createDatabase, fixAndRescan, type TestDatabase } from '../helpers/db.js';
import { findingsOf } from '../helpers/findings.js';

const vacuum = (table: string) => `VACUUM (ANALYZE, VERBOSE) app.${table};`;

describe('vacuum-overdue', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('vacuum-overdue');
  });
  afterAll(() => db.drop());

  it('reports tables beyond their own threshold, partitions one by one; not the look-alikes', async () => {
    expect(findingsOf(await db.scan(['vacuum-overdue']), 'vacuum-overdue')).toEqual([
      { severity: 'warning', schema: 'app', table: 'events_2025', name: null, columns: [], sql: [vacuum('events_2025')] },
      { severity: 'warning', schema: 'app', table: 'orders', name: null, columns: [], sql: [vacuum('orders')] },
      { severity: 'warning', schema: 'app', table: 'sessions', name: null, columns: [], sql: [vacuum('sessions')] },
    ]);
  });

  it('explains the 80%-deleted table with autovacuum off, with its thresholds and vacuum times', async () => {
    const finding = (await db.scan(['vacuum-overdue'])).findings.find((f) => f.target.table === 'orders');
    expect(finding?.evidence).toEqual({
      deadTuples: 8000, liveTuples: 2000, reltuples: 2000, deadShare: 0.8, vacuumThreshold: 450, thresholdBase: 50,
      thresholdScaleFactor: 0.2, timesThreshold: 17.8, autovacuumEnabled: false, fallingBehind: false,
      lastVacuum: null, lastAutovacuum: null, vacuumCount: 0, autovacuumCount: 0,
    });
    expect(finding?.message).toBe('app.orders has 8000 dead tuples (80% of its rows), 17.8× its autovacuum threshold of 450 '
      + '(50 + 0.2 × 2000 rows); autovacuum is disabled for it (last vacuum never, last autovacuum never).');
    expect(finding?.actions).toEqual([
      { kind: 'vacuum', sql: 'VACUUM (ANALYZE, VERBOSE) app.orders;', transactional: false, lock: 'SHARE UPDATE EXCLUSIVE' },
    ]);
    const sessions = (await db.scan(['vacuum-overdue'])).findings.find((f) => f.target.table === 'sessions');
    expect(sessions?.evidence).toMatchObject({ deadTuples: 500, vacuumThreshold: 145, thresholdScaleFactor: 0.01 });
  });

  it('proposes a per-table scale factor for large tables, with the reasoning', async () => {
    const config = { rules: { 'vacuum-overdue': { options: { largeTableRows: 5000 } } }, ignore: [] };
    const found = findingsOf(await db.scan(['vacuum-overdue'], config), 'vacuum-overdue');
    expect(found.map((f) => [f.table, f.sql])).toEqual([
      ['events_2025', [vacuum('events_2025')]],
      ['orders', [vacuum('orders')]],
      // sessions has 9,500 rows but already runs at 0.01.
      ['sessions', [vacuum('sessions')]],
    ]);
    const big = { rules: { 'vacuum-overdue': { options: { largeTableRows: 2000 } } }, ignore: [] };
    const orders = (await db.scan(['vacuum-overdue'], big)).findings.find((f) => f.target.table === 'orders');
    expect(orders?.actions.map((a) => a.sql)).toEqual([
      vacuum('orders'),
      'ALTER TABLE app.orders SET (autovacuum_vacuum_scale_factor = 0.01);',
    ]);
    expect(orders?.actions[1]).toMatchObject({ kind: 'alter-table', transactional: true, lock: 'SHARE UPDATE EXCLUSIVE' });
    expect(orders?.message).toContain('At scale factor 0.2 this 2000-row table waits for 450 dead rows before autovacuum starts; 0.01 starts it at 70.');
  });

  it('says when autovacuum runs but cannot keep up', async () => {
    const snapshot = await db.snapshot();
    const hourAgo = new Date(Date.parse(snapshot.collectedAt) - 3_600_000).toISOString();
    const weekAgo = new Date(Date.parse(snapshot.collectedAt) - 7 * 86_400_000).toISOString();
    const withStats = (name: string, lastAutovacuum: string): Snapshot['tables'][number] => {
      const table = snapshot.tables.find((t) => t.name === name)!;
      return { ...table, reloptions: [], stats: { ...table.stats!, autovacuumCount: 3, lastAutovacuum } };
    };
    const changed: Snapshot = {
      ...snapshot,
      tables: snapshot.tables.map((t) => (t.name === 'orders' ? withStats('orders', hourAgo)
        : t.name === 'events_2025' ? withStats('events_2025', weekAgo)
          : t.name === 'sessions' ? withStats('sessions', hourAgo) : t)),
    };
    const found = analyze(changed, await loadRules(), EMPTY_CONFIG, { only: ['vacuum-overdue'] }).findings;
    const byTable = Object.fromEntries(found.map((f) => [f.target.table, f]));
    // 17.8× the threshold an hour after an autovacuum: falling behind.
    expect(byTable.orders?.evidence.fallingBehind).toBe(true);
    expect(byTable.orders?.message).toContain(`autovacuum ran 3 times (last vacuum never, last autovacuum ${hourAgo}) but cannot keep up with its churn.`);
    // 4.6× but the last autovacuum was a week ago: merely overdue.
    expect(byTable.events_2025?.evidence.fallingBehind).toBe(false);
    expect(byTable.events_2025?.message).toContain('autovacuum has not caught up yet');
    // Without its reloptions, sessions is back under the server's threshold.
    expect(byTable.sessions).toBeUndefined();
  });

  it('is cleared by its own fix', async () => {
    expect(await fixAndRescan('vacuum-overdue', 'vacuum-overdue')).toEqual({ before: 3, after: [] });
  });
});
