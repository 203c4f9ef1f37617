import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze/engine.js';
import { loadRules } from '../../src/analyze/registry.js';
import type { Snapshot } from '../../src/collect/snapshot.js';
import { EMPTY_CONFIG } from '../../src/config/load.js';
import { createDatabase, fixAndRescan, type TestDatabase } from '../helpers/db.js';
import { findingsOf } from '../helpers/findings.js';

const table = (name: string, sql: string) => ({ severity: 'warning', schema: 'app', table: name, name: null, columns: [], sql: [sql] });

describe('autovacuum-disabled', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('autovacuum-disabled');
  });
  afterAll(() => db.drop());

  it('reports tables, TOAST tables, partitions and materialized views with autovacuum off; not the look-alikes', async () => {
    expect(findingsOf(await db.scan(['autovacuum-disabled']), 'autovacuum-disabled')).toEqual([
      table('blobs', 'ALTER TABLE app.blobs RESET (autovacuum_enabled, toast.autovacuum_enabled);'),
      table('documents', 'ALTER TABLE app.documents RESET (toast.autovacuum_enabled);'),
      table('events_2025', 'ALTER TABLE app.events_2025 RESET (autovacuum_enabled);'),
      table('ledger', 'ALTER TABLE app.ledger RESET (autovacuum_enabled);'),
      table('order_totals', 'ALTER MATERIALIZED VIEW app.order_totals RESET (autovacuum_enabled);'),
      table('orders', 'ALTER TABLE app.orders RESET (autovacuum_enabled);'),
    ]);
  });

  it('shows the damage on the 80%-deleted table', async () => {
    const finding = (await db.scan(['autovacuum-disabled'])).findings.find((f) => f.target.table === 'orders');
    expect(finding?.evidence).toMatchObject({ autovacuumEnabled: false, toastAutovacuumEnabled: true, deadTuples: 8000, lastVacuum: null });
    expect(finding?.message).toMatch(/^Autovacuum is disabled for app\.orders \(the table: autovacuum_enabled=false\); it has 8000 dead tuples, last vacuum never, last analyze \d{4}-/);
    expect(finding?.actions).toEqual([{
      kind: 'alter-table', sql: 'ALTER TABLE app.orders RESET (autovacuum_enabled);', transactional: true,
      lock: 'SHARE UPDATE EXCLUSIVE', undo: 'ALTER TABLE app.orders SET (autovacuum_enabled = false);',
    }]);
  });

  it('reports the server-wide setting as critical, with a manual step (settings overridden in the snapshot)', async () => {
    const snapshot = await db.snapshot();
    expect(snapshot.server.settings.autovacuum).toBe('on');
    const off: Snapshot = { ...snapshot, server: { ...snapshot.server, settings: { ...snapshot.server.settings, autovacuum: 'off' } } };
    const found = analyze(off, await loadRules(), EMPTY_CONFIG, { only: ['autovacuum-disabled'] }).findings;
    expect(found).toHaveLength(7);
    const server = found[0]!;
    expect(server.severity).toBe('critical');
    expect(server.target).toEqual({ kind: 'database', schema: null, table: null, name: null, columns: [], query: null });
    expect(server.message).toBe(`autovacuum is off for the whole server hosting database ${snapshot.server.database}: `
      + 'no table is vacuumed or analyzed automatically; only forced anti-wraparound vacuums still run.');
    expect(server.actions).toEqual([{
      kind: 'manual',
      sql: '-- As a superuser, outside a transaction block (a value set on the server command line overrides this):\n'
        + 'ALTER SYSTEM SET autovacuum = on;\nSELECT pg_reload_conf();',
      transactional: false,
      lock: null,
    }]);
    // And not while the server has it on.
    expect((await db.scan(['autovacuum-disabled'])).findings.filter((f) => f.target.kind === 'database')).toEqual([]);
  });

  it('is cleared by its own fix', async () => {
    expect(await fixAndRescan('autovacuum-disabled', 'autovacuum-disabled')).toEqual({ before: 6, after: [] });
  });
});
