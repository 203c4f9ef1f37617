import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze/engine.js';
import { loadRules } from '../../src/analyze/registry.js';
import { collectSnapshot } from '../../src/collect/collect.js';
import { withExactBloat } from '../../src/collect/exact-bloat.js';
import type { Snapshot } from '../../src/collect/snapshot.js';
import { resolveConnection } from '../../src/connect/options.js';
import { openSession, SCAN_SESSION } from '../../src/connect/session.js';
import { columnStatsMap, estimateBtreeBloat, fillfactorOf } from '../../src/collect/row-width.js';
import type { Config } from '../../src/config/load.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';
import { findingsOf } from '../helpers/findings.js';

const lowered = (options: Record<string, number>): Config => ({ rules: { 'index-bloat': { options } }, ignore: [] });
const MB = 1024 * 1024;

describe('index-bloat', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('index-bloat');
  });
  afterAll(() => db.drop());

  it('reports the index bloated by updates, with REINDEX CONCURRENTLY; not the look-alikes', async () => {
    const analysis = await db.scan(['index-bloat'], lowered({ minIndexBytes: 100_000, minWastedBytes: 100_000 }));
    expect(findingsOf(analysis, 'index-bloat')).toEqual([
      { severity: 'warning', schema: 'app', table: 'counters', name: 'counters_hits_idx', columns: ['hits'],
        sql: ['REINDEX INDEX CONCURRENTLY app.counters_hits_idx;'] },
      // Small, but bloated: reported only because the size threshold was lowered to 100 kB.
      { severity: 'warning', schema: 'app', table: 'flags', name: 'flags_value_idx', columns: ['value'],
        sql: ['REINDEX INDEX CONCURRENTLY app.flags_value_idx;'] },
    ]);
    const finding = analysis.findings.find((f) => f.target.name === 'counters_hits_idx');
    expect(finding?.evidence).toMatchObject({ method: 'estimate', rows: 300000, entryBytes: 20, fillfactor: 90, exactRequested: false });
    expect(Number(finding?.evidence.wastedShare)).toBeGreaterThan(0.7);
    expect(finding?.message).toMatch(/^app\.counters_hits_idx on app\.counters: about \d+ MB of 32 MB \(\d+%\) is wasted \(estimated from catalog statistics\)\.$/);
    expect(finding?.actions.map((a) => [a.kind, a.transactional, a.lock])).toEqual([['reindex', false, 'SHARE UPDATE EXCLUSIVE']]);
  });

  it('ignores indexes under the default 10 MB and stays quiet under the default 50 MB of waste', async () => {
    expect(findingsOf(await db.scan(['index-bloat']), 'index-bloat')).toEqual([]);
    expect(findingsOf(await db.scan(['index-bloat'], lowered({ minWastedBytes: 0 })), 'index-bloat').map((f) => f.name)).toEqual(['counters_hits_idx']);
  });

  it('with --exact but without pgstattuple, runs on estimates and says so', async () => {
    const snapshot = await exactSnapshot(db);
    const analysis = analyze(snapshot, await loadRules(), lowered({ minIndexBytes: 100_000, minWastedBytes: 100_000 }), { only: ['index-bloat'] });
    expect(analysis.findings.map((f) => [f.target.name, f.evidence.method, f.evidence.exactUnavailable])).toEqual([
      ['counters_hits_idx', 'estimate', expect.stringMatching(/pgstattuple is not installed/)],
      ['flags_value_idx', 'estimate', expect.stringMatching(/pgstattuple is not installed/)],
    ]);
  });

  it('with --exact and pgstattuple, uses pgstatindex figures, labelled', async () => {
    await db.run('CREATE EXTENSION IF NOT EXISTS pgstattuple');
    const snapshot = await exactSnapshot(db);
    expect(snapshot.exactBloat?.unavailable).toBeNull();
    // Only btree candidates: the hash index is not measured.
    const hash = snapshot.indexes.find((i) => i.name === 'lookups_code_hash')!;
    expect(snapshot.exactBloat?.indexes[String(hash.oid)]).toBeUndefined();
    const analysis = analyze(snapshot, await loadRules(), lowered({ minIndexBytes: 100_000, minWastedBytes: 100_000 }), { only: ['index-bloat'] });
    expect(findingsOf(analysis, 'index-bloat').map((f) => f.name)).toEqual(['counters_hits_idx', 'flags_value_idx']);
    for (const finding of analysis.findings) {
      expect(finding.evidence).toMatchObject({ method: 'pgstattuple', exactRequested: true, exactUnavailable: null, entryBytes: null });
      expect(finding.message).toMatch(/\(measured by pgstatindex\)\.$/);
    }
    console.log(`index-bloat with --exact:\n  ${analysis.findings.map((f) => f.message).join('\n  ')}`);
  });

  it('keeps the estimate within 15 percentage points of pgstatindex on every btree fixture index', async () => {
    await db.run('CREATE EXTENSION IF NOT EXISTS pgstattuple');
    const exact = await db.query<{ relname: string; index_size: string; leaf_pages: string; empty_pages: string; deleted_pages: string; avg_leaf_density: number }>(
      `SELECT c.relname, a.index_size, a.leaf_pages, a.empty_pages, a.deleted_pages, a.avg_leaf_density
         FROM pg_class c JOIN pg_am am ON am.oid = c.relam CROSS JOIN LATERAL pgstatindex(c.oid) a
        WHERE c.relnamespace = 'app'::regnamespace AND c.relkind = 'i' AND am.amname = 'btree' ORDER BY c.relname`);
    const snapshot = await db.snapshot();
    const stats = columnStatsMap(snapshot);
    const compared: string[] = [];
    for (const row of exact) {
      const index = snapshot.indexes.find((i) => i.name === row.relname)!;
      const table = snapshot.tables.find((t) => t.oid === index.tableOid)!;
      const estimate = estimateBtreeBloat(index, table, stats, snapshot.server.blockSize);
      const fillfactor = fillfactorOf(index.reloptions, 90);
      const pages = Number(row.index_size) / snapshot.server.blockSize;
      // Leaf space beyond what the fillfactor leaves free, plus empty and deleted pages.
      const wastedPages = Number(row.leaf_pages) * Math.max(0, 1 - row.avg_leaf_density / fillfactor) + Number(row.empty_pages) + Number(row.deleted_pages);
      const measured = wastedPages / pages;
      compared.push(`${row.relname}: estimate ${estimate ? pct(estimate.share) : 'none'}, pgstatindex ${pct(measured)} (avg_leaf_density ${row.avg_leaf_density}%)`);
      expect(estimate).not.toBeNull();
      expect(estimate!.share).toBeGreaterThanOrEqual(0);
      expect(Math.abs(estimate!.share - measured)).toBeLessThan(0.15);
    }
    console.log(`index-bloat, estimate vs exact:\n  ${compared.join('\n  ')}`);
    expect(compared).toHaveLength(4);
  });

  it('is cleared by its own fix', async () => {
    const config = lowered({ minIndexBytes: 100_000, minWastedBytes: 100_000 });
    const before = (await db.scan(['index-bloat'], config)).findings;
    expect(before).toHaveLength(2);
    for (const action of before.flatMap((f) => f.actions)) await db.run(action.sql);
    expect((await db.scan(['index-bloat'], config)).findings).toEqual([]);
  });
});

async function exactSnapshot(db: TestDatabase): Promise<Snapshot> {
  const session = await openSession(resolveConnection(db.url), SCAN_SESSION);
  try {
    return await withExactBloat(session, await collectSnapshot(session), 1024 * 1024, 100_000);
  } finally {
    await session.close();
  }
}

function pct(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}
