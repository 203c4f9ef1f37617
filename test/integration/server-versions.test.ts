import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze/engine.js';
import { loadRules } from '../../src/analyze/registry.js';
import { collectSnapshot } from '../../src/collect/collect.js';
import { EMPTY_CONFIG } from '../../src/config/load.js';
import { resolveConnection } from '../../src/connect/options.js';
import { openSession, SCAN_SESSION } from '../../src/connect/session.js';
import { withClient } from '../../src/embedded/server.js';
import { parseStatements } from '../../src/parse/statements.js';
import { FIXTURES_DIR } from '../../src/paths.js';
import { createDatabase } from '../helpers/db.js';
import { findingsOf } from '../helpers/findings.js';
import { startSystemPostgres, type SystemPostgres } from '../helpers/system-postgres.js';

// The catalog rules' fixtures on the machine's PostgreSQL 15 must give exactly the findings
// they give on the embedded PostgreSQL 18: the version-specific collect SQL at work.
const CATALOG_RULES = ['missing-fk-index', 'duplicate-index', 'redundant-index', 'invalid-index', 'missing-primary-key', 'sequence-exhaustion'];

async function loadFixture(url: string, fixture: string): Promise<void> {
  const statements = await parseStatements(await readFile(join(FIXTURES_DIR, `${fixture}.sql`), 'utf8'));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const statement of statements) {
      await client.query(statement.text).catch((error: Error) => {
        if (!/--\s*expect-error/.test(statement.preamble)) throw error;
      });
    }
  } finally {
    await client.end();
  }
}

async function scanUrl(url: string, rule: string) {
  const session = await openSession(resolveConnection(url), SCAN_SESSION);
  try {
    return findingsOf(analyze(await collectSnapshot(session), await loadRules(), EMPTY_CONFIG, { only: [rule] }), rule);
  } finally {
    await session.close();
  }
}

describe('PostgreSQL 15 and 18 agree', () => {
  let pg15: SystemPostgres;
  beforeAll(async () => {
    pg15 = await startSystemPostgres();
  }, 120_000);
  afterAll(() => pg15?.stop());

  it.each(CATALOG_RULES)('%s: the same findings on both servers', async (rule) => {
    const name = `v_${rule.replaceAll('-', '_')}`;
    await withClient(pg15.url(), (client) => client.query(`CREATE DATABASE ${name}`));
    await loadFixture(pg15.url(name), rule);
    const on18 = await createDatabase(rule);
    try {
      const expected = await scanUrl(on18.url, rule);
      expect(expected.length).toBeGreaterThan(0);
      expect(await scanUrl(pg15.url(name), rule)).toEqual(expected);
    } finally {
      await on18.drop();
    }
  });
});
