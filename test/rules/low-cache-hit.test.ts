import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import rule from '../../rules/low-cache-hit.js';
import { analyze } from '../../src/analyze/engine.js';
import { loadRules } from '../../src/analyze/registry.js';
import type { Snapshot, TableIo } from '../../src/collect/snapshot.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';
import { findingsOf } from '../helpers/findings.js';

// A test database sees thousands of block accesses, not a production day's millions.
const CONFIG = { rules: { 'low-cache-hit': { options: { minBlockAccesses: 1000, minTableReads: 100 } } }, ignore: [] };

/** The application: cold reads made certain by evicting a table's blocks first (PostgreSQL 18's pg_buffercache). */
async function runWorkload(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SET max_parallel_workers_per_gather = 0');
    const evict = (table: string) => client.query('SELECT pg_buffercache_evict_relation($1::regclass)', [table]);
    const scan = (table: string) => client.query(`SELECT count(*) FROM ${table}`);
    // Only this database's tables are reset: other test files share the server's statistics.
    await client.query("SELECT pg_stat_reset_single_table_counters(oid) FROM pg_class WHERE relnamespace = 'app'::regnamespace");
    for (let i = 0; i < 3; i++) {
      await evict('app.archive');
      await scan('app.archive');
    }
    await evict('app.settings');
    for (let i = 0; i < 41; i++) await scan('app.settings');
    await evict('app.rare');
    await scan('app.rare');
  } finally {
    await client.end();
  }
}

/** Backends flush statistics when they exit, a moment after the client has gone. */
async function waitFor(db: TestDatabase, sql: string, expected: number): Promise<void> {
  let seen = -1;
  for (let attempt = 0; attempt < 100; attempt++) {
    seen = Number((await db.query<{ value: string }>(sql))[0]?.value);
    if (seen === expected) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${sql}: ${seen}, expected ${expected}`);
}

const NO_IO: TableIo = { heapRead: 0, heapHit: 0, indexRead: 0, indexHit: 0 };

describe('low-cache-hit', () => {
  let db: TestDatabase;
  let snapshot: Snapshot;
  let pages: Record<string, number>;
  beforeAll(async () => {
    db = await createDatabase('low-cache-hit');
    // The fixture's own statistics land before the reset, not after it.
    await waitFor(db, "SELECT n_tup_ins AS value FROM pg_stat_user_tables WHERE relid = 'app.tiny'::regclass", 100);
    await runWorkload(db.url);
    snapshot = await db.snapshot();
    pages = Object.fromEntries(snapshot.tables.map((t) => [t.name, t.relpages]));
    await waitFor(db, "SELECT heap_blks_read AS value FROM pg_statio_user_tables WHERE relid = 'app.rare'::regclass", pages.rare ?? 0);
    snapshot = await db.snapshot();
  });
  afterAll(() => db.drop());

  it('reports the database and the cold table; not the hot, rarely read or unread look-alikes', async () => {
    expect(findingsOf(await db.scan(['low-cache-hit'], CONFIG), 'low-cache-hit')).toEqual([
      { severity: 'warning', schema: 'app', table: 'archive', name: null, columns: [], sql: [expect.any(String)] },
      { severity: 'warning', schema: null, table: null, name: null, columns: [], sql: [expect.any(String)] },
    ]);
  });

  it('carries the collected numbers', () => {
    const io = Object.fromEntries(snapshot.tables.map((t) => [t.name, t.io]));
    expect(io.archive).toEqual({ heapRead: 3 * (pages.archive ?? 0), heapHit: 0, indexRead: 0, indexHit: 0 });
    expect(io.rare).toEqual({ heapRead: pages.rare, heapHit: 0, indexRead: 0, indexHit: 0 });
    expect(io.settings?.heapRead).toBeGreaterThanOrEqual(pages.settings ?? 0);
    expect(io.tiny).toEqual(NO_IO);

    const findings = rule.check(snapshot, { ...rule.options, minBlockAccesses: 1000, minTableReads: 100 });
    const { hit, read } = snapshot.server.databaseBlocks;
    const hot = io.settings ?? NO_IO;
    expect(findings.map((f) => f.evidence)).toEqual([
      {
        hitRatio: Math.round(hit / (hit + read) * 10_000) / 10_000, hits: hit, reads: read, sharedBuffersBytes: 128 * 1024 * 1024,
        topTable1: `app.archive: ${3 * (pages.archive ?? 0)} reads, 0.0% hits`,
        topTable2: `app.settings: ${hot.heapRead} reads, ${(Math.floor(hot.heapHit / (hot.heapHit + hot.heapRead) * 1000) / 10).toFixed(1)}% hits`,
      },
      {
        hitRatio: 0, hits: 0, reads: 3 * (pages.archive ?? 0), heapRead: 3 * (pages.archive ?? 0), heapHit: 0, indexRead: 0, indexHit: 0,
        tableBytes: (pages.archive ?? 0) * 8192, rows: 200_000, seqScan: 3,
      },
    ]);
    expect(findings[1]?.message).toBe(`0.0% of block accesses to app.archive (17 MB) were shared-buffer hits since statistics were reset (target 95.0%): ${3 * (pages.archive ?? 0)} blocks read from outside (${3 * (pages.archive ?? 0)} heap, 0 index).`);
    expect(findings[1]?.actions[0]?.sql.split('\n').slice(-2)).toEqual(['CREATE EXTENSION IF NOT EXISTS pg_prewarm;', "SELECT pg_prewarm('app.archive');"]);
  });

  describe('over set numbers', () => {
    const withIo = (blocks: { hit: number; read: number }, io: Record<string, TableIo>): Snapshot => ({
      ...snapshot,
      server: { ...snapshot.server, databaseBlocks: blocks },
      tables: snapshot.tables.map((table) => ({ ...table, io: io[table.name] ?? NO_IO })),
    });
    const busy = () => withIo({ hit: 900_000, read: 100_000 }, {
      archive: { heapRead: 50_000, heapHit: 10_000, indexRead: 0, indexHit: 0 },
      // Hot: 99.5%.
      settings: { heapRead: 5_000, heapHit: 995_000, indexRead: 0, indexHit: 0 },
      // Reads through its index count: 90.05%.
      tiny: { heapRead: 0, heapHit: 100, indexRead: 2_000, indexHit: 18_000 },
      // One read short of minTableReads.
      rare: { heapRead: 999, heapHit: 0, indexRead: 0, indexHit: 0 },
    });
    const summary = (s: Snapshot, options = rule.options) =>
      rule.check(s, options).map((f) => ({ kind: f.target.kind, table: f.target.table, ...f.evidence }));

    it('reports a low database ratio with the most-read tables, and each judged table below the threshold', () => {
      expect(summary(busy())).toEqual([
        { kind: 'database', table: null, hitRatio: 0.9, hits: 900_000, reads: 100_000, sharedBuffersBytes: 128 * 1024 * 1024,
          topTable1: 'app.archive: 50k reads, 16.6% hits', topTable2: 'app.settings: 5000 reads, 99.5% hits', topTable3: 'app.tiny: 2000 reads, 90.0% hits' },
        expect.objectContaining({ kind: 'table', table: 'archive', hitRatio: 0.1667, hits: 10_000, reads: 50_000 }),
        expect.objectContaining({ kind: 'table', table: 'tiny', hitRatio: 0.9005, hits: 18_100, reads: 2_000, indexRead: 2_000 }),
      ]);
      expect(rule.check(busy(), rule.options)[0]?.message).toBe(
        '90.0% of block accesses in database ' + snapshot.server.database + ' were shared-buffer hits since statistics were reset (target 95.0%): 100k blocks (781 MB) were read from outside.');
    });

    it('judges only the topTables most-read tables', () => {
      expect(summary(busy(), { ...rule.options, topTables: 1 }).map((f) => `${f.kind}:${f.table}`)).toEqual(['database:null', 'table:archive']);
    });

    it('leaves an idle database alone, and one exactly at the threshold', () => {
      const quiet = { archive: { heapRead: 500, heapHit: 0, indexRead: 0, indexHit: 0 } };
      expect(summary(withIo({ hit: 9_000, read: 1_000 }, quiet))).toEqual([]);
      expect(summary(withIo({ hit: 950_000, read: 50_000 }, quiet))).toEqual([]);
    });

    it('describes a --sample window', () => {
      const sampled: Snapshot = { ...busy(), workload: { ...snapshot.workload, sampleSeconds: 60 } };
      expect(rule.check(sampled, rule.options)[0]?.message).toMatch(/ were shared-buffer hits in the 60 s sample /);
    });
  });

  it('runs on real statistics through the engine with the defaults: not enough accesses to judge the database', async () => {
    const analysis = analyze(snapshot, await loadRules(), { rules: {}, ignore: [] }, { only: ['low-cache-hit'] });
    const { hit, read } = snapshot.server.databaseBlocks;
    expect(hit + read).toBeLessThan(rule.options.minBlockAccesses);
    expect(analysis.findings.map((f) => `${f.target.kind}:${f.target.table}`)).toEqual(['table:archive']);
  });
});
