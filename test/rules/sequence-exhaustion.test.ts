import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

describe('sequence-exhaustion', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('sequence-exhaustion');
  });
  afterAll(() => db.drop());

  const summary = async (target: TestDatabase) => (await target.scan(['sequence-exhaustion'])).findings.map((finding) => ({
    sequence: finding.target.name,
    severity: finding.severity,
    boundBy: finding.evidence.boundBy,
    shareUsed: finding.evidence.shareUsed,
    remaining: finding.evidence.remaining,
    fix: finding.actions.map((action) => `${action.kind}: ${action.sql}`),
  })).sort((a, b) => String(a.sequence).localeCompare(String(b.sequence)));

  it('reports sequences near their own bound or a narrower column\'s, both directions; not the roomy, cycling or unused ones', async () => {
    const rewrite = '-- Rewrites the table and its indexes under ACCESS EXCLUSIVE (no reads or writes until done).\n'
      + '-- On a big table, add a bigint column filled in batches, or use logical replication, instead.\n';
    expect(await summary(db)).toEqual([
      { sequence: 'batch_seq', severity: 'critical', boundBy: 'sequence (smallint)', shareUsed: 0.9156, remaining: '2767',
        fix: ['alter-table: ALTER SEQUENCE app.batch_seq AS bigint;'] },
      { sequence: 'countdown_seq', severity: 'critical', boundBy: 'sequence (bigint)', shareUsed: 0.9495, remaining: '5',
        fix: ['manual: -- countdown_seq has an explicit MINVALUE; if it is not intended:\nALTER SEQUENCE app.countdown_seq NO MINVALUE;'] },
      { sequence: 'events_id_seq', severity: 'critical', boundBy: 'sequence (integer)', shareUsed: 0.9779, remaining: '47483647',
        fix: [`manual: ${rewrite}ALTER TABLE app.events ALTER COLUMN id TYPE bigint;\nALTER SEQUENCE app.events_id_seq AS bigint;`] },
      { sequence: 'orders_id_seq', severity: 'critical', boundBy: 'sequence (integer)', shareUsed: 0.9313, remaining: '147483647',
        fix: [`manual: ${rewrite}ALTER TABLE app.orders ALTER COLUMN id TYPE bigint;\nALTER SEQUENCE app.orders_id_seq AS bigint;`] },
      { sequence: 'ticket_seq', severity: 'warning', boundBy: 'column app.tickets.id (integer)', shareUsed: 0.7916, remaining: '447483647',
        fix: [`manual: ${rewrite}ALTER TABLE app.tickets ALTER COLUMN id TYPE bigint;`] },
    ]);
  });

  it('is cleared by its own fix, the manual steps included', async () => {
    const copy = await createDatabase('sequence-exhaustion');
    try {
      for (const finding of (await copy.scan(['sequence-exhaustion'])).findings) {
        for (const action of finding.actions) await copy.run(action.sql);
      }
      expect(await summary(copy)).toEqual([]);
      await copy.query("INSERT INTO app.orders (note) VALUES ('x')");
    } finally {
      await copy.drop();
    }
  });
});
