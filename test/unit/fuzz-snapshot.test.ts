import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze/engine.js';
import { loadRules } from '../../src/analyze/registry.js';
import { collectSnapshot } from '../../src/collect/collect.js';
import { withExactBloat } from '../../src/collect/exact-bloat.js';
import type { Snapshot } from '../../src/collect/snapshot.js';
import { parseSnapshot } from '../../src/collect/snapshot-file.js';
import { EMPTY_CONFIG } from '../../src/config/load.js';
import { resolveConnection } from '../../src/connect/options.js';
import { openSession, SCAN_SESSION } from '../../src/connect/session.js';
import { UsageError } from '../../src/errors.js';
import { renderJson } from '../../src/report/json.js';
import { buildReport } from '../../src/report/report.js';
import { renderText } from '../../src/report/text.js';
import type { AnyRule } from '../../src/rule.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';
import { FUZZ_SEED, mutate, mutation, type Json } from '../helpers/fuzz.js';

// A small database with one of each thing the rules look at: a foreign key without an
// index, duplicate, partial and expression indexes, an identity column, a partitioned
// table, a materialized view, a workload, exact bloat figures and a horizon holder.
const SCHEMA = `
CREATE EXTENSION pg_stat_statements;
CREATE EXTENSION pgstattuple;
CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL, active boolean, note text);
CREATE INDEX customers_email_idx ON customers (email);
CREATE INDEX customers_email_twin ON customers (email);
CREATE INDEX customers_lower_email ON customers (lower(email)) WHERE active;
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer_id int REFERENCES customers ON DELETE CASCADE,
                     placed_at timestamptz NOT NULL, total numeric);
CREATE TABLE events (id int, at date NOT NULL, payload jsonb) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX events_at ON events (at);
INSERT INTO customers (email, active) SELECT 'c' || g || '@example.com', g % 7 = 0 FROM generate_series(1, 2000) g;
INSERT INTO orders (customer_id, placed_at, total) SELECT 1 + g % 2000, now() - g * interval '1 hour', g FROM generate_series(1, 20000) g;
INSERT INTO events SELECT g, date '2024-01-01' + g % 300, '{}' FROM generate_series(1, 3000) g;
CREATE MATERIALIZED VIEW customer_totals AS SELECT customer_id, sum(total) AS total FROM orders GROUP BY 1;
ANALYZE;
SELECT pg_stat_statements_reset();
`;

const WORKLOAD = [
  'SELECT * FROM orders WHERE customer_id = $1',
  'SELECT id FROM customers WHERE email = $1',
  'SELECT * FROM orders WHERE placed_at > $1 ORDER BY placed_at LIMIT 10',
  'UPDATE orders SET total = total + 1 WHERE id = $1',
  'SELECT c.email, count(*) FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.id = $1 GROUP BY 1',
];

// Settings the rules read; the other few hundred would only dilute the mutations.
const RELEVANT_SETTING = /^(autovacuum|vacuum_|track_counts|shared_buffers|search_path|block_size|shared_preload_libraries)/;

async function seedSnapshot(db: TestDatabase): Promise<Snapshot> {
  const holder = new pg.Client({ connectionString: db.url });
  await holder.connect();
  const session = await openSession(resolveConnection(db.url), SCAN_SESSION);
  try {
    for (const [i, statement] of WORKLOAD.entries()) {
      for (let n = 1; n <= 20; n++) await holder.query(statement, [i === 1 ? `c${n}@example.com` : i === 2 ? new Date() : n]);
    }
    await holder.query('BEGIN; SELECT txid_current()');
    const snapshot = await withExactBloat(session, await collectSnapshot(session), 0, 0);
    const settings = Object.fromEntries(Object.entries(snapshot.server.settings).filter(([name]) => RELEVANT_SETTING.test(name)));
    return { ...snapshot, server: { ...snapshot.server, settings } };
  } finally {
    await session.close();
    await holder.end();
  }
}

type Outcome = 'report' | 'usage error';

/** What the CLI does with a snapshot file: a report, or exit 2 on a UsageError; anything else is a bug. */
function scanText(text: string, rules: readonly AnyRule[]): Outcome {
  try {
    const snapshot = parseSnapshot(text, 'fuzz.json');
    const report = buildReport(snapshot, analyze(snapshot, rules, EMPTY_CONFIG), { startedAt: new Date(0), durationMs: 0 });
    renderJson(report);
    renderText(report, { color: false });
    return 'report';
  } catch (error) {
    if (error instanceof UsageError) return 'usage error';
    throw error;
  }
}

describe('snapshot reader under fuzzing', () => {
  let db: TestDatabase;
  let rules: AnyRule[];
  let seed: Json;
  beforeAll(async () => {
    db = await createDatabase();
    await db.run(SCHEMA);
    rules = await loadRules();
    seed = JSON.parse(JSON.stringify(await seedSnapshot(db))) as Json;
  });
  afterAll(async () => {
    await db.drop();
  });

  it('reports on the unmutated seed', () => {
    expect(scanText(JSON.stringify(seed), rules)).toBe('report');
  });

  // Hand-made hostile snapshots: what the fuzzer found, and what it would take long to find.
  const HUGE = '<1e400>';
  type Rows = Array<Record<string, Json>>;
  interface Doc { tables: Rows; indexes: Rows; sequences: Rows; columnStats: Rows; workload: { statements: Rows } }
  const hostile: Array<[string, (doc: Doc) => void, Outcome | string]> = [
    ['a list that is a string', (doc) => void (doc.tables[1]!.columns = 'id, email'), 'fuzz.json: tables[1].columns is not an array'],
    ['a missing reference', (doc) => void delete doc.indexes[0]!.tableOid, 'fuzz.json: indexes[0].tableOid is missing'],
    ['a partition of itself', (doc) => void (doc.tables[0]!.partitionOf = doc.tables[0]!.oid!), 'fuzz.json: tables[0].partitionOf forms a cycle'],
    ['a sequence counting by 0', (doc) => void (doc.sequences[0]!.increment = '0'), 'fuzz.json: sequences[0].increment is not a non-zero integer in a string'],
    // JSON.parse reads 1e400 as Infinity.
    ['a number beyond float range', (doc) => void (doc.tables[0]!.reltuples = HUGE), 'fuzz.json: tables[0].reltuples is not a number'],
    ['an empty statement text', (doc) => void (doc.workload.statements[0]!.query = ''), 'report'],
    ['indexes of tables that are not there', (doc) => doc.indexes.forEach((index) => void (index.tableOid = 1)), 'report'],
    ['btree entries wider than a page', (doc) => {
      doc.columnStats.forEach((stats) => Object.assign(stats, { avgWidth: 1900, nullFrac: 0 }));
      doc.indexes.forEach((index) => Object.assign(index, { include: [1, 2, 3, 4], relpages: 1e6 }));
    }, 'report'],
  ];

  it.each(hostile)('%s', (_, change, expected) => {
    const doc = structuredClone(seed) as unknown as Doc;
    change(doc);
    const text = JSON.stringify(doc).replaceAll(`"${HUGE}"`, '1e400');
    if (expected === 'report' || expected === 'usage error') expect(scanText(text, rules)).toBe(expected);
    else expect(() => parseSnapshot(text, 'fuzz.json')).toThrow(new UsageError(expected));
  });

  it('ends every mutation of a valid snapshot in a report or a usage error', () => {
    const seen: Record<Outcome, number> = { report: 0, 'usage error': 0 };
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
      seen[scanText(JSON.stringify(mutations.reduce(mutate, seed)), rules)]++;
    }), { seed: FUZZ_SEED, numRuns: 300 });
    // Both outcomes occur, so neither the reader nor the rules are vacuously passed over.
    expect(seen.report).toBeGreaterThan(20);
    expect(seen['usage error']).toBeGreaterThan(20);
  });

  it('turns arbitrary text and JSON into usage errors', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.json()), (text) => {
      expect(scanText(text, rules)).toBe('usage error');
    }), { seed: FUZZ_SEED, numRuns: 300 });
  });

  it('ends snapshot-like objects with random fields in a report or a usage error', () => {
    const field = fc.jsonValue({ maxDepth: 3 });
    const shaped = fc.record({
      format: fc.constantFrom(1, 0, 2, '1'), collectedAt: field, server: field, tables: field, indexes: field, foreignKeys: field,
      indexesInProgress: field, otherRelationNames: field, sequences: field, columnStats: field, workload: field,
    }, { requiredKeys: ['format'] });
    fc.assert(fc.property(shaped, (value) => void scanText(JSON.stringify(value), rules)), { seed: FUZZ_SEED, numRuns: 200 });
  });
});
