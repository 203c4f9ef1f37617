import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, fixAndRescan, type TestDatabase } from '../helpers/db.js';
import { findingsOf } from '../helpers/findings.js';

const analyze = (name: string, severity = 'warning') => ({ severity, schema: 'app', table: name, name: null, columns: [], sql: [`ANALYZE app.${name};`] });

describe('stale-statistics', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('stale-statistics');
  });
  afterAll(() => db.drop());

  it('reports never-analyzed and stale tables and an unanalyzed partitioned parent; not the look-alikes', async () => {
    expect(findingsOf(await db.scan(['stale-statistics']), 'stale-statistics')).toEqual([
      analyze('accounts'),
      analyze('events', 'info'),
      analyze('orders'),
      analyze('tickets'),
    ]);
  });

  it('explains each with its counters and threshold', async () => {
    const findings = (await db.scan(['stale-statistics'])).findings;
    const of = (name: string) => findings.find((f) => f.target.table === name);
    expect(of('orders')?.message).toBe('app.orders holds 5000 rows and was never analyzed: the planner has no statistics for it.');
    expect(of('orders')?.evidence).toMatchObject({ rows: 5000, lastAnalyze: null, lastAutoanalyze: null, autovacuumEnabled: false });
    expect(of('accounts')?.evidence).toMatchObject({ rows: 10000, modifiedSinceAnalyze: 3000, analyzeThreshold: 1050 });
    expect(of('accounts')?.message).toMatch(/^app\.accounts had 3000 rows modified since it was last analyzed \(\d{4}-.*\), beyond its autoanalyze threshold of 1050 \(50 \+ 0\.1 × 10k rows\); autovacuum is disabled for it\.$/);
    expect(of('tickets')?.evidence).toMatchObject({ modifiedSinceAnalyze: 500, analyzeThreshold: 150 });
    expect(of('events')?.evidence).toMatchObject({ rows: 4000, lastAnalyze: null, partitioned: true });
    expect(of('events')?.message).toBe('Partitioned table app.events (4000 rows in its partitions) was never analyzed: autovacuum analyzes partitions '
      + 'but never a partitioned parent, so queries on the parent plan without up-to-date statistics.');
    expect(of('events')?.actions).toEqual([{ kind: 'analyze', sql: 'ANALYZE app.events;', transactional: true, lock: 'SHARE UPDATE EXCLUSIVE' }]);
  });

  it('reports a partitioned parent analyzed longer ago than the option allows', async () => {
    const config = { rules: { 'stale-statistics': { options: { partitionedMaxAgeDays: -1 } } }, ignore: [] };
    const tables = findingsOf(await db.scan(['stale-statistics'], config), 'stale-statistics').map((f) => f.table);
    expect(tables).toEqual(['accounts', 'events', 'logs', 'orders', 'tickets']);
  });

  it('is cleared by its own fix', async () => {
    expect(await fixAndRescan('stale-statistics', 'stale-statistics')).toEqual({ before: 4, after: [] });
  });
});
