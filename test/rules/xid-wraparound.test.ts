import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze/engine.js';
import { loadRules } from '../../src/analyze/registry.js';
import type { Snapshot } from '../../src/collect/snapshot.js';
import type { Config } from '../../src/config/load.js';
import { buildPlan } from '../../src/plan/plan.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';
import { findingsOf } from '../helpers/findings.js';

// Real ages are tens of thousands here: the fixture burns 30,000 then 15,000 transactions.
// Warning from 0.9 × 10,000 = 9,000 transactions, critical from 40,000.
const LOW: Config = { rules: { 'xid-wraparound': { options: { freezeMaxAge: 10_000, criticalAge: 40_000 } } }, ignore: [] };
const burn = (count: number) => `DO $$ BEGIN FOR i IN 1..${count} LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$;`;

describe('xid-wraparound', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('xid-wraparound');
  });
  afterAll(() => db.drop());

  it('reports nothing at the default thresholds', async () => {
    expect((await db.scan(['xid-wraparound'])).findings).toEqual([]);
  });

  it('reports the old tables and the database, ranked, with the exact fix; not the young look-alikes', async () => {
    const analysis = await db.scan(['xid-wraparound'], LOW);
    expect(findingsOf(analysis, 'xid-wraparound')).toEqual([
      { severity: 'critical', schema: 'app', table: 'ledger', name: null, columns: [], sql: ['VACUUM (FREEZE, VERBOSE) app.ledger;'] },
      { severity: 'warning', schema: 'app', table: 'orders', name: null, columns: [], sql: ['VACUUM (FREEZE, VERBOSE) app.orders;'] },
      { severity: 'critical', schema: null, table: null, name: db.name, columns: [],
        sql: ['Freeze every table past the threshold, system catalogs included, oldest first (online: SHARE UPDATE EXCLUSIVE per table):\n'
          + `vacuumdb --dbname=${db.name} --freeze --min-xid-age=9000 --jobs=4 --verbose`] },
    ]);
    const ledger = analysis.findings.find((f) => f.target.table === 'ledger');
    expect(ledger?.evidence).toMatchObject({ freezeMaxAge: 10_000, multiXactAge: 0, multiXactFreezeMaxAge: 10_000 });
    expect(ledger?.evidence.age).toBeGreaterThanOrEqual(45_000);
    expect(ledger?.evidence.shareOfHardLimit).toBe(Math.round((ledger?.evidence.age as number) / 2 ** 31 * 10_000) / 10_000);
    expect(ledger?.evidence.xidsLeft).toBe(2 ** 31 - 3_000_000 - (ledger?.evidence.age as number));
    expect(ledger?.actions[0]).toEqual({ kind: 'vacuum', sql: 'VACUUM (FREEZE, VERBOSE) app.ledger;', transactional: false, lock: 'SHARE UPDATE EXCLUSIVE' });
    expect(ledger?.message).toMatch(/^app\.ledger is \d+(\.\d+)?k transactions old \(0\.00\d+% of the 2\^31 limit; anti-wraparound autovacuum from 10k\)\.$/);
  });

  it('plans the oldest table first', async () => {
    const plan = buildPlan((await db.scan(['xid-wraparound'], LOW)).findings);
    expect(plan.steps.filter((s) => s.action.kind === 'vacuum').map((s) => s.action.sql))
      .toEqual(['VACUUM (FREEZE, VERBOSE) app.ledger;', 'VACUUM (FREEZE, VERBOSE) app.orders;']);
  });

  it('judges realistic ages: critical near the limit, warning near autovacuum_freeze_max_age, quiet below', async () => {
    const snapshot = await db.snapshot();
    const ages: Record<string, number> = { ledger: 1_900_000_000, orders: 185_000_000, sessions: 100_000_000, events_2026: 1_550_000_000 };
    const aged: Snapshot = {
      ...snapshot,
      server: { ...snapshot.server, databaseFrozenXidAge: 1_900_000_000,
        horizonHolders: [{ kind: 'prepared transaction', name: "tx'1", xidAge: 50_000_000, since: '2026-01-01T00:00:00.000Z' }] },
      tables: snapshot.tables.map((t) => (t.frozenXidAge === null ? t : { ...t, frozenXidAge: ages[t.name] ?? t.frozenXidAge })),
    };
    const analysis = analyze(aged, await loadRules(), { rules: {}, ignore: [] }, { only: ['xid-wraparound'] });
    expect(analysis.findings.map((f) => [f.target.kind, f.target.table, f.severity, f.evidence.age])).toEqual(expect.arrayContaining([
      ['database', null, 'critical', 1_900_000_000],
      ['table', 'ledger', 'critical', 1_900_000_000],
      ['table', 'events_2026', 'critical', 1_550_000_000],
      ['table', 'orders', 'warning', 185_000_000],
    ]));
    expect(analysis.findings).toHaveLength(4);
    const ledger = analysis.findings.find((f) => f.target.table === 'ledger');
    expect(ledger?.evidence).toMatchObject({
      freezeMaxAge: 200_000_000, shareOfFreezeMaxAge: 9.5, shareOfHardLimit: 0.8848, xidsLeft: 244_483_648,
      oldestHolder: "prepared transaction 'tx''1'", oldestHolderAge: 50_000_000,
      horizonHolders: "prepared transaction 'tx''1': 50M XIDs since 2026-01-01T00:00:00.000Z",
    });
    expect(ledger?.message).toBe('app.ledger is 1.9G transactions old (88.5% of the 2^31 limit; anti-wraparound autovacuum from 200M).'
      + " VACUUM FREEZE cannot advance past prepared transaction 'tx''1' (50M XIDs old): end it first.");
    expect(ledger?.actions.map((a) => [a.kind, a.sql])).toEqual([
      ['manual', "Prepared transaction 'tx''1' holds the xmin horizon back (50M XIDs old, since 2026-01-01T00:00:00.000Z).\n"
        + 'If its transaction manager has abandoned it, in its database (pg_prepared_xacts.database):\n'
        + "ROLLBACK PREPARED 'tx''1';"],
      ['vacuum', 'VACUUM (FREEZE, VERBOSE) app.ledger;'],
    ]);
  });

  it('names an old open transaction as the horizon holder, with a manual step to end it', async () => {
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await holder.query('SELECT txid_current()');
      const pid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await db.run(burn(2_000));
      // VACUUM FREEZE cannot advance relfrozenxid past the open transaction.
      await db.run('VACUUM (FREEZE) app.orders');
      const config: Config = { rules: { 'xid-wraparound': { options: { freezeMaxAge: 1_000, criticalAge: 40_000, holderAge: 1_000 } } }, ignore: [] };
      const analysis = await db.scan(['xid-wraparound'], config);
      const orders = analysis.findings.find((f) => f.target.table === 'orders');
      expect(orders?.evidence.age).toBeGreaterThanOrEqual(2_000);
      expect(String(orders?.evidence.horizonHolders)).toMatch(new RegExp(`session ${pid}: \\d+ XIDs since `));
      const manual = orders?.actions.find((a) => a.kind === 'manual' && a.sql.includes(`Session ${pid} `));
      expect(manual?.sql).toMatch(new RegExp(`^Session ${pid} holds the xmin horizon back \\(\\d+ XIDs old, since .+\\)\\.\\n`
        + `Check what it runs: SELECT datname, usename, application_name, state, query FROM pg_stat_activity WHERE pid = ${pid};\\n`
        + `If it can go \\(its open transaction is rolled back\\):\\nSELECT pg_terminate_backend\\(${pid}\\);$`));
      expect(orders?.actions.at(-1)?.sql).toBe('VACUUM (FREEZE, VERBOSE) app.orders;');
      expect(orders?.actions.findIndex((a) => a === manual)).toBeLessThan((orders?.actions.length ?? 0) - 1);
      expect(orders?.message).toContain('VACUUM FREEZE cannot advance past session ');
    } finally {
      await holder.end();
    }
  });

  it('is cleared by its own fix (the table findings; old catalogs keep the database finding)', async () => {
    const copy = await createDatabase('xid-wraparound');
    try {
      const before = (await copy.scan(['xid-wraparound'], LOW)).findings;
      for (const action of before.flatMap((f) => f.actions).filter((a) => a.kind === 'vacuum')) await copy.run(action.sql);
      expect((await copy.scan(['xid-wraparound'], LOW)).findings.map((f) => f.target.kind)).toEqual(['database']);
    } finally {
      await copy.drop();
    }
  });
});
