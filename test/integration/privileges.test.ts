import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tagged } from '../../src/connect/session.js';
import { withClient } from '../../src/embedded/server.js';
import { runWorkload } from '../../src/embedded/workload.js';
import { FIXTURES_DIR } from '../../src/paths.js';
import type { Report } from '../../src/report/report.js';
import { runCli } from '../helpers/cli.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

// Beyond the demo's planted problems: a table with 80% dead rows and a serial at 93%,
// which only a role that may read the table's statistics and the sequence can judge, and
// a table for an index build in progress (invalid until done, and not to be reported).
const EXTRA = `
CREATE EXTENSION pgstattuple;
CREATE SCHEMA ops;
CREATE TABLE ops.jobs (id serial PRIMARY KEY, payload text NOT NULL) WITH (autovacuum_enabled = false);
INSERT INTO ops.jobs (payload) SELECT repeat('x', 200) FROM generate_series(1, 20000);
DELETE FROM ops.jobs WHERE id % 5 <> 0;
SELECT setval('ops.jobs_id_seq', 2000000000);
CREATE TABLE ops.queue (id int);
`;

const CONFIG = [
  'rules:',
  '  unused-index:',
  '    minStatsAgeDays: 0',
  '  table-bloat:',
  '    minTableBytes: 1048576',
  '    minWastedBytes: 1048576',
  '',
].join('\n');

/**
 * The superuser's CREATE INDEX CONCURRENTLY, held in its first wait by an open write on
 * the table: its index exists, invalid. Returns what lets it finish.
 */
async function blockedIndexBuild(db: TestDatabase): Promise<() => Promise<void>> {
  const [writer, builder] = [new pg.Client({ connectionString: db.url }), new pg.Client({ connectionString: db.url })];
  await Promise.all([writer.connect(), builder.connect()]);
  await writer.query('BEGIN; INSERT INTO ops.queue VALUES (1)');
  const build = builder.query('CREATE INDEX CONCURRENTLY queue_id_idx ON ops.queue (id)');
  const waiting = async () => (await db.query("SELECT 1 FROM pg_stat_progress_create_index WHERE phase LIKE 'waiting for writers%'")).length > 0;
  for (let tries = 0; !(await waiting()); tries++) {
    if (tries > 200) throw new Error('the index build never started waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return async () => {
    await writer.query('ROLLBACK');
    await build;
    await Promise.all([writer.end(), builder.end()]);
  };
}

/**
 * pg_stat_statements rows of the database that are not `role`'s. Tagged like perfaudit's
 * own statements, the count is left out of the superuser's workload; run twice, it counts
 * its own row.
 */
async function othersStatementCount(url: string, role: string): Promise<number> {
  const count = tagged(`SELECT count(*)::int AS n FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND userid <> to_regrole($1)`);
  return withClient(url, async (client) => {
    await client.query(count, [role]);
    return (await client.query<{ n: number }>(count, [role])).rows[0]?.n ?? 0;
  });
}

interface Scan {
  readonly code: number;
  readonly report: Report;
}

describe('scanning as a role with few privileges', () => {
  let db: TestDatabase;
  let config: string;
  const suffix = randomBytes(3).toString('hex');
  const bare = `perfaudit_bare_${suffix}`;
  const monitor = `perfaudit_monitor_${suffix}`;
  const scans: Record<string, Scan> = {};
  let otherRolesStatements = 0;

  const scanAs = async (role?: string): Promise<Scan> => {
    const url = new URL(db.url);
    if (role) [url.username, url.password] = [role, 'role-pw'];
    const result = await runCli(['scan', '-d', url.toString(), '--format', 'json', '--exact', '--config', config]);
    expect(result.stderr).toBe('');
    return { code: result.code, report: JSON.parse(result.stdout) as Report };
  };

  beforeAll(async () => {
    config = join(await mkdtemp(join(tmpdir(), 'perfaudit-privileges-')), 'perfaudit.yml');
    await writeFile(config, CONFIG);
    db = await createDatabase('demo/schema');
    await db.run(EXTRA);
    await withClient(db.url, async (client) => {
      await client.query('CREATE EXTENSION pg_stat_statements');
      await client.query('SELECT pg_stat_statements_reset(), pg_stat_reset()');
      await runWorkload(client, join(FIXTURES_DIR, 'demo', 'workload.sql'));
      await client.query('ANALYZE');
      await client.query(`CREATE ROLE ${bare} LOGIN PASSWORD 'role-pw'`);
      await client.query(`CREATE ROLE ${monitor} LOGIN PASSWORD 'role-pw' IN ROLE pg_monitor`);
    });
    const finishBuild = await blockedIndexBuild(db);
    try {
      otherRolesStatements = await othersStatementCount(db.url, bare);
      scans.bare = await scanAs(bare);
      scans.monitor = await scanAs(monitor);
      scans.superuser = await scanAs();
    } finally {
      await finishBuild();
    }
  });
  afterAll(async () => {
    await db.drop();
    await withClient(new URL(db.url).origin + '/postgres', async (client) => {
      await client.query(`DROP ROLE ${bare}; DROP ROLE ${monitor}`);
    }).catch(() => undefined);
  });

  const findingsWithout = (scan: Scan | undefined, rules: readonly string[]) =>
    scan?.report.findings.filter((finding) => !rules.includes(finding.rule));
  const ruleIds = (scan: Scan | undefined) => [...new Set(scan?.report.findings.map((finding) => finding.rule))].sort();

  it('the superuser sees every planted problem, the bloated table and the nearly exhausted sequence among them', () => {
    expect(ruleIds(scans.superuser)).toEqual([
      'autovacuum-disabled', 'duplicate-index', 'missing-fk-index', 'missing-index', 'missing-primary-key', 'n-plus-one', 'redundant-index',
      'sequence-exhaustion', 'slow-query', 'table-bloat', 'unused-index', 'vacuum-overdue',
    ]);
    expect(scans.superuser?.report.findings.filter((f) => ['table-bloat', 'sequence-exhaustion'].includes(f.rule)).map((f) => [f.rule, f.target.schema, f.target.table ?? f.target.name]))
      .toEqual([['sequence-exhaustion', 'ops', 'jobs'], ['table-bloat', 'ops', 'jobs']]);
    expect(scans.superuser?.report.skipped).toEqual([]);
    expect(scans.superuser?.report.workload.hiddenStatements).toBe(0);
  });

  it('a role with nothing granted: the scan completes, skips what it cannot see and says which GRANT shows it', () => {
    const grant = (privilege: string) => `GRANT ${privilege} TO ${bare};`;
    const statements = `the role ${bare} may not read other roles' statements (${grant('pg_read_all_stats')})`;
    expect(scans.bare?.report.skipped).toEqual([
      { rule: 'missing-index', reason: statements },
      { rule: 'n-plus-one', reason: statements },
      { rule: 'sequence-exhaustion', reason: `partly: the last values of 8 sequences are hidden from role ${bare}, so they are not judged: GRANT SELECT ON them, or ${grant('pg_read_all_data')}` },
      { rule: 'slow-query', reason: statements },
      {
        rule: 'table-bloat',
        reason: `partly: pg_stats hides the column statistics of 5 tables (app.audit_events, app.backlogs, app.documents, …) from role ${bare}, so their bloat is `
          + `neither estimated nor measured (pgstattuple failed: permission denied for function pgstattuple_approx: ${grant('pg_stat_scan_tables')}): `
          + `GRANT SELECT ON them, or ${grant('pg_read_all_data')}`,
      },
    ]);
    expect(scans.bare?.report.findings).toEqual(findingsWithout(scans.superuser, ['missing-index', 'n-plus-one', 'sequence-exhaustion', 'slow-query', 'table-bloat']));
    // Every row so far is another role's (the superuser's): each one counted as hidden.
    expect(scans.bare?.report.workload).toMatchObject({ statements: 0, hiddenStatements: otherRolesStatements });
    expect(otherRolesStatements).toBeGreaterThan(20);
  });

  it('a pg_monitor role: statements, settings and pgstattuple are visible; table statistics and sequence values are not', () => {
    const grant = `GRANT SELECT ON them, or GRANT pg_read_all_data TO ${monitor};`;
    expect(scans.monitor?.report.skipped).toEqual([
      { rule: 'missing-index', reason: `partly: pg_stats hides the column statistics of 4 tables (app.audit_events, app.backlogs, app.documents, …) from role ${monitor}, so indexes for them are not proposed: ${grant}` },
      { rule: 'sequence-exhaustion', reason: `partly: the last values of 8 sequences are hidden from role ${monitor}, so they are not judged: ${grant}` },
    ]);
    // Bloat measured by pgstattuple needs no pg_stats: table-bloat matches the superuser's.
    expect(scans.monitor?.report.findings).toEqual(findingsWithout(scans.superuser, ['missing-index', 'sequence-exhaustion']));
    expect(scans.monitor?.report.workload.hiddenStatements).toBe(0);
  });

  it('a role that ran statements of its own: the workload rules judge those and count the rest as hidden', async () => {
    const hidden = await othersStatementCount(db.url, bare);
    const own = new URL(db.url);
    [own.username, own.password] = [bare, 'role-pw'];
    await withClient(own.toString(), (client) => client.query('SELECT count(*) FROM pg_class'));
    const result = await runCli(['scan', '-d', own.toString(), '--format', 'json', '--rules', 'missing-index,n-plus-one,slow-query']);
    const report = JSON.parse(result.stdout) as Report;
    const note = `${hidden} pg_stat_statements rows of other roles are hidden from role ${bare} and not judged: GRANT pg_read_all_stats TO ${bare};`;
    expect(report.skipped).toEqual([
      { rule: 'missing-index', reason: `partly: pg_stats hides the column statistics of 4 tables (app.audit_events, app.backlogs, app.documents, …) from role ${bare}, `
        + `so indexes for them are not proposed: GRANT SELECT ON them, or GRANT pg_read_all_data TO ${bare}; ${note}` },
      { rule: 'n-plus-one', reason: `partly: ${note}` },
      { rule: 'slow-query', reason: `partly: ${note}` },
    ]);
    expect(report.workload).toMatchObject({ statements: 1, hiddenStatements: hidden, unavailable: null });
  });

  it('exit codes do not depend on the role', () => {
    expect([scans.superuser?.code, scans.monitor?.code, scans.bare?.code]).toEqual([1, 1, 1]);
  });
});
