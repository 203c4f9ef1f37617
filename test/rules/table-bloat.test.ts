import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze/engine.js';
import { loadRules } from '../../src/analyze/registry.js';
import { collectSnapshot } from '../../src/collect/collect.js';
import { withExactBloat } from '../../src/collect/exact-bloat.js';
import { columnStatsMap, estimateTableBloat, fillfactorOf } from '../../src/collect/row-width.js';
import type { Snapshot } from '../../src/collect/snapshot.js';
import { scanCommand } from '../../src/commands/scan.js';
import type { Config } from '../../src/config/load.js';
import { resolveConnection } from '../../src/connect/options.js';
import { openSession, SCAN_SESSION } from '../../src/connect/session.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';
import { findingsOf } from '../helpers/findings.js';

const lowered = (options: Record<string, number>): Config => ({ rules: { 'table-bloat': { options } }, ignore: [] });
const MB = 1024 * 1024;

describe('table-bloat', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('table-bloat');
  });
  afterAll(() => db.drop());

  it('reports the table with 80% deleted rows, with VACUUM and the manual rewrite options; not the look-alikes', async () => {
    const analysis = await db.scan(['table-bloat'], lowered({ minTableBytes: 1 * MB, minWastedBytes: 1 * MB }));
    expect(findingsOf(analysis, 'table-bloat')).toEqual([
      { severity: 'warning', schema: 'app', table: 'orders', name: null, columns: [],
        sql: [
          'VACUUM (ANALYZE, VERBOSE) app.orders;',
          [
            '-- About 16 MB of app.orders is wasted; VACUUM makes it reusable but does not return it to the OS.',
            '-- To shrink the file, rewrite the table in a maintenance window, with one of:',
            '--   pg_repack --table=app.orders (online; needs the pg_repack extension and a primary key or unique index)',
            '--   VACUUM FULL app.orders; (ACCESS EXCLUSIVE: blocks all reads and writes for the whole rewrite, needs room for a full copy)',
          ].join('\n'),
        ] },
    ]);
    const [finding] = analysis.findings;
    expect(finding?.evidence).toMatchObject({ method: 'estimate', rows: 50000, fillfactor: 100, exactRequested: false });
    expect(Number(finding?.evidence.wastedShare)).toBeGreaterThan(0.75);
    expect(finding?.message).toMatch(/^app\.orders: about 16 MB of 20 MB \(80%\) is wasted \(estimated from catalog statistics\)\.$/);
    expect(finding?.actions.map((a) => [a.kind, a.transactional, a.lock])).toEqual([
      ['vacuum', false, 'SHARE UPDATE EXCLUSIVE'], ['manual', false, 'ACCESS EXCLUSIVE'],
    ]);
  });

  it('stays quiet under the default thresholds (10 MB tables, 50 MB wasted) and ignores small tables', async () => {
    expect(findingsOf(await db.scan(['table-bloat']), 'table-bloat')).toEqual([]);
    // Any wasted amount, default size threshold: the small bloated table is still ignored.
    expect(findingsOf(await db.scan(['table-bloat'], lowered({ minWastedBytes: 0 })), 'table-bloat').map((f) => f.table)).toEqual(['orders']);
  });

  it('offers only VACUUM below the heavy share', async () => {
    const analysis = await db.scan(['table-bloat'], lowered({ minWastedBytes: 1 * MB, heavyShare: 0.9 }));
    expect(findingsOf(analysis, 'table-bloat')).toEqual([
      { severity: 'warning', schema: 'app', table: 'orders', name: null, columns: [], sql: ['VACUUM (ANALYZE, VERBOSE) app.orders;'] },
    ]);
  });

  it('with --exact but without pgstattuple, runs on estimates and says so', async () => {
    const snapshot = await exactSnapshot(db);
    expect(snapshot.exactBloat).toEqual({ unavailable: expect.stringMatching(/pgstattuple is not installed/), tables: {}, indexes: {} });
    const analysis = analyze(snapshot, await loadRules(), lowered({ minTableBytes: 1 * MB, minWastedBytes: 1 * MB }), { only: ['table-bloat'] });
    expect(analysis.findings.map((f) => [f.target.table, f.evidence.method, f.evidence.exactRequested, f.evidence.exactUnavailable])).toEqual([
      ['orders', 'estimate', true, expect.stringMatching(/pgstattuple is not installed/)],
    ]);
  });

  it('keeps the estimate within 15 percentage points of pgstattuple_approx on every fixture table', async () => {
    await db.run('CREATE EXTENSION IF NOT EXISTS pgstattuple');
    const exact = await db.query<{ relname: string; table_len: string; dead_tuple_len: string; approx_free_space: string }>(
      `SELECT c.relname, a.table_len, a.dead_tuple_len, a.approx_free_space
         FROM pg_class c CROSS JOIN LATERAL pgstattuple_approx(c.oid) a
        WHERE c.relnamespace = 'app'::regnamespace AND c.relkind = 'r' ORDER BY c.relname`);
    const snapshot = await db.snapshot();
    const stats = columnStatsMap(snapshot);
    const compared: string[] = [];
    for (const row of exact) {
      const table = snapshot.tables.find((t) => t.name === row.relname)!;
      const estimate = estimateTableBloat(table, stats, snapshot.server.blockSize);
      const length = Number(row.table_len);
      // Space held back by a fillfactor below 100 is free on purpose, not bloat.
      const reserve = (length * (100 - fillfactorOf(table.reloptions, 100))) / 100;
      const raw = (Number(row.dead_tuple_len) + Number(row.approx_free_space)) / length;
      const measured = Math.max(0, Number(row.dead_tuple_len) + Number(row.approx_free_space) - reserve) / length;
      compared.push(`${row.relname}: estimate ${estimate ? pct(estimate.share) : 'suppressed'}, pgstattuple_approx dead+free ${pct(raw)}`
        + (reserve > 0 ? ` (${pct(measured)} beyond fillfactor)` : ''));
      if (row.relname === 'events') {
        expect(estimate).toBeNull(); // stale statistics: no figure rather than a wrong one
        continue;
      }
      expect(estimate).not.toBeNull();
      expect(Math.abs(estimate!.share - measured)).toBeLessThan(0.15);
    }
    console.log(`table-bloat, estimate vs exact:\n  ${compared.join('\n  ')}`);
    expect(compared).toHaveLength(6);
  });
});

describe('table-bloat with --exact and pgstattuple', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('table-bloat');
    await db.run('CREATE EXTENSION pgstattuple');
  });
  afterAll(() => db.drop());

  it('uses pgstattuple_approx figures, labelled, and measures the table whose statistics are too stale to estimate', async () => {
    const snapshot = await exactSnapshot(db);
    expect(snapshot.exactBloat?.unavailable).toBeNull();
    const measured = Object.fromEntries(snapshot.tables.map((t) => [t.name, snapshot.exactBloat?.tables[String(t.oid)]?.share]));
    // Candidates only (at least 1 MB), and the fillfactor reserve of accounts is not counted.
    expect(measured.settings).toBeUndefined();
    expect(measured.accounts).toBeLessThan(0.05);
    const analysis = analyze(snapshot, await loadRules(), lowered({ minTableBytes: 1 * MB, minWastedBytes: 1 * MB }), { only: ['table-bloat'] });
    expect(findingsOf(analysis, 'table-bloat').map((f) => [f.table, f.sql.length])).toEqual([['events', 2], ['orders', 2]]);
    for (const finding of analysis.findings) {
      expect(finding.evidence).toMatchObject({ method: 'pgstattuple', exactRequested: true, exactUnavailable: null, rowBytes: null });
      expect(finding.message).toMatch(/\(measured by pgstattuple_approx\)\.$/);
    }
    console.log(`table-bloat with --exact:\n  ${analysis.findings.map((f) => f.message).join('\n  ')}`);
  });

  it('is wired to `scan --exact`', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'perfaudit-bloat-'));
    const config = join(dir, 'perfaudit.yml');
    await writeFile(config, 'rules:\n  table-bloat:\n    minTableBytes: 1048576\n    minWastedBytes: 1048576\n');
    const output = join(dir, 'report.json');
    const code = await scanCommand({ dbname: db.url, format: 'json', output, config, rules: ['table-bloat'], exact: true, color: false });
    const report = JSON.parse(await readFile(output, 'utf8')) as { findings: Array<{ target: { table: string }; evidence: { method: string } }> };
    expect(code).toBe(1);
    expect(report.findings.map((f) => [f.target.table, f.evidence.method])).toEqual([['events', 'pgstattuple'], ['orders', 'pgstattuple']]);
  });
});

async function exactSnapshot(db: TestDatabase): Promise<Snapshot> {
  const session = await openSession(resolveConnection(db.url), SCAN_SESSION);
  try {
    return await withExactBloat(session, await collectSnapshot(session), 1 * MB, 100_000);
  } finally {
    await session.close();
  }
}

function pct(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}
