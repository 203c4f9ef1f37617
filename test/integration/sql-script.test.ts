import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildReport } from '../../src/report/report.js';
import { renderSql } from '../../src/report/sql.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

const FIXED_RULES = ['missing-fk-index', 'duplicate-index', 'redundant-index', 'invalid-index'];

/** Every user table's row count and a hash of its content. */
async function tableContents(db: TestDatabase): Promise<Record<string, string>> {
  const rows = await db.query<{ name: string; content: string }>(`
    SELECT format('%I.%I', table_schema, table_name) AS name,
           (xpath('/row/c/text()', query_to_xml(format(
             'SELECT count(*) || '':'' || coalesce(md5(string_agg(t::text, '','' ORDER BY t::text)), '''') AS c FROM %I.%I t',
             table_schema, table_name), false, true, '')))[1]::text AS content
    FROM information_schema.tables
    WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`);
  return Object.fromEntries(rows.map((row) => [row.name, row.content]));
}

describe('the --format sql script', () => {
  it.each(FIXED_RULES)('run by psql -f on the %s fixture fixes its findings and changes no row', async (fixture) => {
    const db = await createDatabase(fixture);
    try {
      const before = await tableContents(db);
      const analysis = await db.scan();
      expect(analysis.findings.filter((finding) => FIXED_RULES.includes(finding.rule)).length).toBeGreaterThan(0);
      const file = join(await mkdtemp(join(tmpdir(), 'perfaudit-sql-')), 'fix.sql');
      await writeFile(file, renderSql(buildReport(await db.snapshot(), analysis, { startedAt: new Date(), durationMs: 0 })));
      await promisify(execFile)('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file, db.url]);
      const after = await db.scan();
      expect(after.findings.filter((finding) => FIXED_RULES.includes(finding.rule))).toEqual([]);
      expect(await tableContents(db)).toEqual(before);
    } finally {
      await db.drop();
    }
  });
});
