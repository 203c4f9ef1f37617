import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/plan/plan.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

const MB = 1024 * 1024;

// The acceptance case, across rules: one table with 80% of its rows deleted and
// autovacuum off is bloated, overdue for VACUUM and has autovacuum disabled; and the plan
// runs its VACUUM online, with the table rewrite only as advice.
describe('a table with 80% deleted rows and autovacuum off', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('table-bloat');
  });
  afterAll(() => db.drop());

  it('is reported by table-bloat, vacuum-overdue and autovacuum-disabled, and planned safely', async () => {
    const config = { rules: { 'table-bloat': { options: { minTableBytes: MB, minWastedBytes: MB } } }, ignore: [] };
    const analysis = await db.scan(['table-bloat', 'vacuum-overdue', 'autovacuum-disabled'], config);
    const onOrders = analysis.findings.filter((finding) => finding.target.schema === 'app' && finding.target.table === 'orders');
    expect(onOrders.map((finding) => finding.rule).sort()).toEqual(['autovacuum-disabled', 'table-bloat', 'vacuum-overdue']);
    const steps = buildPlan(onOrders).steps.map((step) => `${step.action.kind}: ${step.action.sql.split('\n').at(-1)}`);
    expect(steps).toEqual([
      'alter-table: ALTER TABLE app.orders RESET (autovacuum_enabled);',
      'vacuum: VACUUM (ANALYZE, VERBOSE) app.orders;',
      expect.stringMatching(/^manual: .*VACUUM FULL app\.orders;/),
    ]);
  });
});
