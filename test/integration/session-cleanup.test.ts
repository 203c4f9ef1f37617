import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCommand } from '../../src/commands/apply.js';
import { planCommand } from '../../src/commands/plan.js';
import { scanCommand } from '../../src/commands/scan.js';
import { withScanSession } from '../../src/commands/source.js';
import { resolveConnection } from '../../src/connect/options.js';
import { openSession, SCAN_SESSION } from '../../src/connect/session.js';
import { runCli } from '../helpers/cli.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

const dir = mkdtempSync(join(tmpdir(), 'perfaudit-sessions-'));

// The commands run here in the test's own process, which stays alive after they return:
// a connection they leave open would show in pg_stat_activity.
describe('every session ends its connection', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('missing-fk-index');
  });
  afterAll(() => db.drop());

  const ours = (on = db) => on.query<{ pid: number; state: string }>(
    `SELECT pid, state FROM pg_stat_activity WHERE datname = $1 AND application_name = 'perfaudit'`, [on.name]);
  // A backend leaves pg_stat_activity a moment after its client has said goodbye.
  const expectNoneLeft = (on = db) => expect.poll(() => ours(on), { timeout: 2_000, interval: 20 }).toEqual([]);

  it('a session used only through its pg client', async () => {
    const session = await openSession(resolveConnection(db.url), SCAN_SESSION);
    await session.client.query('SELECT 1');
    expect(await ours()).toEqual([{ pid: expect.any(Number), state: 'idle' }]);
    await session.close();
    await expectNoneLeft();
  });

  it('scan, plan and apply, when they succeed', async () => {
    expect(await scanCommand({ dbname: db.url, format: 'json', output: join(dir, 'scan.json'), color: false })).toBe(1);
    await expectNoneLeft();
    expect(await planCommand({ dbname: db.url, format: 'sql', output: join(dir, 'plan.sql') })).toBe(0);
    await expectNoneLeft();
    expect(await applyCommand({ dbname: db.url, only: ['missing-fk-index'], yes: true })).toBe(0);
    await expectNoneLeft();
  });

  it('a scan whose work fails', async () => {
    await expect(withScanSession(db.url, () => Promise.reject(new Error('boom')))).rejects.toThrow('collecting the snapshot failed: boom');
    await expectNoneLeft();
  });

  it('an apply whose backend is terminated while it waits for a lock', async () => {
    const other = await createDatabase('missing-fk-index');
    const holder = new pg.Client({ connectionString: other.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE app.features IN SHARE MODE');
    try {
      const applying = applyCommand({ dbname: other.url, only: ['missing-fk-index'], yes: true, lockTimeout: '30s' });
      const waiting = `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'perfaudit'
        AND wait_event_type = 'Lock' AND query LIKE '%app.features%'`;
      await expect.poll(() => other.query(waiting, [other.name]), { timeout: 30_000, interval: 20 }).toHaveLength(1);
      await other.query(`SELECT pg_terminate_backend(pid) FROM (${waiting}) w`, [other.name]);
      // That step fails; apply reconnects and runs the others.
      expect(await applying).toBe(1);
      await expectNoneLeft(other);
    } finally {
      await holder.end();
      await other.drop();
    }
  });

  it('the CLI commands', async () => {
    for (const args of [['scan'], ['plan'], ['apply', '--yes', '--only', 'missing-fk-index'], ['scan', '--rules', 'no-such-rule']]) {
      const result = await runCli([...args, '-d', db.url], { PERFAUDIT_RETRY_BASE_MS: '100' });
      expect(result.stderr).not.toMatch(/\n\s+at /);
      await expectNoneLeft();
    }
  });
});
