import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { analyze, type Analysis } from '../../src/analyze/engine.js';
import { loadRules } from '../../src/analyze/registry.js';
import { collectSnapshot } from '../../src/collect/collect.js';
import type { Snapshot } from '../../src/collect/snapshot.js';
import { EMPTY_CONFIG, type Config } from '../../src/config/load.js';
import { resolveConnection } from '../../src/connect/options.js';
import { openSession, SCAN_SESSION } from '../../src/connect/session.js';
import { withClient } from '../../src/embedded/server.js';
import { parseStatements } from '../../src/parse/statements.js';
import { FIXTURES_DIR } from '../../src/paths.js';

/** A fresh database on the test run's embedded server. */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** Runs SQL statement by statement; one preceded by a `-- expect-error` comment may fail. */
  run(sql: string): Promise<void>;
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Collects a snapshot through the product's own read-only session. */
  snapshot(): Promise<Snapshot>;
  /** Collects and runs the given rules (all when none given). */
  scan(rules?: readonly string[], config?: Config): Promise<Analysis>;
  drop(): Promise<void>;
}

export function databaseUrl(name: string): string {
  const url = new URL(inject('pgUrl'));
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

/** Creates a database and loads `fixtures/<fixture>.sql` into it, if given. */
export async function createDatabase(fixture?: string): Promise<TestDatabase> {
  const name = `t_${(fixture ?? 'empty').replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
  await withClient(inject('pgUrl'), (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
  const url = databaseUrl(name);
  const db: TestDatabase = {
    name,
    url,
    run: (sql) => runStatements(url, sql),
    query: async <Row>(sql: string, params: unknown[] = []) =>
      withClient(url, async (client) => (await client.query(sql, params)).rows as Row[]),
    snapshot: () => snapshotOf(url),
    scan: async (rules, config = EMPTY_CONFIG) =>
      analyze(await snapshotOf(url), await loadRules(), config, rules ? { only: rules } : {}),
    drop: () => withClient(inject('pgUrl'), (client) => client.query(`DROP DATABASE ${client.escapeIdentifier(name)} WITH (FORCE)`)).then(() => undefined),
  };
  if (fixture) await db.run(await readFile(join(FIXTURES_DIR, `${fixture}.sql`), 'utf8'));
  return db;
}

async function runStatements(url: string, sql: string): Promise<void> {
  const statements = await parseStatements(sql);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const statement of statements) {
      try {
        // Counters of this session's writes reach the shared statistics when it goes idle,
        // at most once a second: flush them before ANALYZE, or they land after it and the
        // tables look modified since they were analyzed (stale-statistics, at random).
        if (statement.kind === 'VacuumStmt') await client.query('SELECT pg_stat_force_next_flush()');
        await client.query(statement.text);
      } catch (error) {
        if (!/--\s*expect-error/.test(statement.preamble)) throw new Error(`line ${statement.line}: ${(error as Error).message}\n${statement.text}`);
      }
    }
  } finally {
    await client.end();
  }
}

async function snapshotOf(url: string): Promise<Snapshot> {
  const session = await openSession(resolveConnection(url), SCAN_SESSION);
  try {
    return await collectSnapshot(session);
  } finally {
    await session.close();
  }
}

/**
 * Loads `fixture` into a fresh database, runs every action of `rule`'s findings (manual
 * ones too: their SQL is runnable advice), rescans, and drops the database. Tests assert
 * how many findings there were and that none are left.
 */
export async function fixAndRescan(fixture: string, rule: string): Promise<{ before: number; after: Analysis['findings'] }> {
  const copy = await createDatabase(fixture);
  try {
    const before = (await copy.scan([rule])).findings;
    for (const action of before.flatMap((finding) => finding.actions)) await copy.run(action.sql);
    return { before: before.length, after: (await copy.scan([rule])).findings };
  } finally {
    await copy.drop();
  }
}
