import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { withClient } from '../../src/embedded/server.js';
import type { Finding } from '../../src/rule.js';
import { runCli, type CliResult } from '../helpers/cli.js';

const FIXTURE = 'fixtures/check-migrations';
const SCHEMA_RULES = 'missing-fk-index,duplicate-index,redundant-index,missing-primary-key,invalid-index';

/** `rule file:line object` per finding, in report order. */
function located(result: CliResult): string[] {
  const report = JSON.parse(result.stdout) as { findings: Finding[] };
  return report.findings.map(({ rule, location, target }) =>
    `${rule} ${location?.file}:${location?.line} ${target.schema}.${target.table}${target.name ? `.${target.name}` : ''}`);
}

async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'perfaudit-migrations-'));
  for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql);
  return dir;
}

/** check-migrations on the test run's server: a scratch database instead of a new embedded server per test. */
function check(...args: string[]): Promise<CliResult> {
  return runCli(['check-migrations', ...args, '--server', inject('pgUrl')]);
}

describe('perfaudit check-migrations (CLI)', () => {
  let sinceFirst: CliResult;
  beforeAll(async () => {
    // On its own embedded server, which it may create the fixture's app_reader role on.
    sinceFirst = await runCli(['check-migrations', FIXTURE, '--since', '0001_init.sql', '--rules', SCHEMA_RULES, '--format', 'json']);
    await withClient(inject('pgUrl'), (client) => client.query('DROP ROLE IF EXISTS app_reader; CREATE ROLE app_reader NOLOGIN'));
  });

  it('reports the schema problems each new migration introduces, at the statement that made them', () => {
    expect(sinceFirst.stderr).toBe('');
    expect(sinceFirst.code).toBe(1);
    expect(located(sinceFirst)).toEqual([
      // goose file: the CREATE TABLE declaring the unindexed key; the down section never ran.
      `missing-fk-index ${FIXTURE}/0002_comments.sql:2 public.comments.comments_task_id_fkey`,
      `missing-primary-key ${FIXTURE}/0002_comments.sql:10 public.audit_events`,
      // dbmate file: the index that makes an earlier one on the same table redundant.
      `redundant-index ${FIXTURE}/0003_labels.sql:8 public.labels.labels_project_id_idx`,
      // A deployed foreign key loses its index: the DROP that did it.
      `missing-fk-index ${FIXTURE}/0004_tasks_title.sql:1 public.tasks.tasks_project_id_fkey`,
      `duplicate-index ${FIXTURE}/0004_tasks_title.sql:3 public.tasks.tasks_title_idx`,
    ]);
  });

  it('reports lock hazards beside schema problems, and nothing for a table created in the same file', async () => {
    const result = await check(FIXTURE, '--since', '0001_init.sql', '--format', 'json');
    expect(located(result)).toEqual([
      `missing-fk-index ${FIXTURE}/0002_comments.sql:2 public.comments.comments_task_id_fkey`,
      `missing-primary-key ${FIXTURE}/0002_comments.sql:10 public.audit_events`,
      // The first statement locking a deployed table, with no lock_timeout set before it.
      `missing-lock-timeout ${FIXTURE}/0002_comments.sql:12 public.tasks`,
      // 0003 builds its indexes on a table it created: no lock hazard.
      `redundant-index ${FIXTURE}/0003_labels.sql:8 public.labels.labels_project_id_idx`,
      `missing-fk-index ${FIXTURE}/0004_tasks_title.sql:1 public.tasks.tasks_project_id_fkey`,
      `missing-lock-timeout ${FIXTURE}/0004_tasks_title.sql:1 public.tasks`,
      `non-concurrent-index-drop ${FIXTURE}/0004_tasks_title.sql:1 public.tasks.tasks_project_id_idx`,
      `non-concurrent-index-build ${FIXTURE}/0004_tasks_title.sql:2 public.tasks.tasks_title_idx`,
      `duplicate-index ${FIXTURE}/0004_tasks_title.sql:3 public.tasks.tasks_title_idx`,
      `non-concurrent-index-build ${FIXTURE}/0004_tasks_title.sql:3 public.tasks.tasks_title_copy_idx`,
    ]);
    const sarif = JSON.parse((await check(FIXTURE, '--since', '0001_init.sql', '--format', 'sarif')).stdout);
    expect(sarif.runs[0].results[2].locations[0].physicalLocation).toEqual({
      artifactLocation: { uri: `${FIXTURE}/0002_comments.sql` }, region: { startLine: 12 },
    });
  });

  it('gates every file without --since, deployed problems included', async () => {
    const result = await check(FIXTURE, '--rules', 'missing-primary-key', '--format', 'json');
    expect(located(result)).toEqual([
      `missing-primary-key ${FIXTURE}/0001_init.sql:9 public.legacy_log`,
      `missing-primary-key ${FIXTURE}/0002_comments.sql:10 public.audit_events`,
    ]);
  });

  it('prints the location of each finding in the text report and honours --fail-on', async () => {
    const result = await check(`${FIXTURE}/0001_init.sql`, `${FIXTURE}/0002_comments.sql`, '--since', '0001_init.sql', '--rules', 'missing-primary-key', '--fail-on', 'critical');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`  at ${FIXTURE}/0002_comments.sql:10\n`);
    expect(result.stdout).toContain('migrations: 1 checked after 1 deployed (applied, not checked)');
    const markdown = await check(`${FIXTURE}/0001_init.sql`, `${FIXTURE}/0002_comments.sql`, '--since', '0001_init.sql', '--rules', 'missing-primary-key', '--format', 'markdown');
    expect(markdown.stdout).toContain(`Migrations checked: \`${FIXTURE}/0002_comments.sql\` (after 1 deployed) · PostgreSQL 18.4`);
  });

  it('reports a migration that fails to apply with its file, line and the PostgreSQL error', async () => {
    const dir = await migrationsDir({
      '1_ok.sql': 'CREATE TABLE a (id int PRIMARY KEY);\n',
      '2_bad.sql': 'ALTER TABLE a ADD COLUMN b int;\n\nALTER TABLE a\n  ADD CONSTRAINT a_c_fkey FOREIGN KEY (c) REFERENCES a (id);\n',
    });
    const result = await check(dir);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toBe(`perfaudit: migration ${join(dir, '2_bad.sql')}:3 failed: column "c" referenced in foreign key constraint does not exist\n`);
  });

  it('rejects a suppression naming an unknown rule, a --since outside the files, and a syntax error, with exit 2', async () => {
    const dir = await migrationsDir({
      '1.sql': 'CREATE TABLE a (id int PRIMARY KEY);\n-- perfaudit-ignore missing-fk-indx\nCREATE TABLE b (a int REFERENCES a);\n',
      '2.sql': 'CREATE TABLE c (id int PRIMARY KEY);\nCREATE TABLEE d ();\n',
    });
    expect(await check(join(dir, '1.sql'))).toEqual({
      code: 2, stdout: '', stderr: `perfaudit: ${join(dir, '1.sql')}:2: perfaudit-ignore names unknown rule "missing-fk-indx"\n`,
    });
    expect(await check(join(dir, '1.sql'), '--since', '9.sql')).toEqual({
      code: 2, stdout: '', stderr: 'perfaudit: --since 9.sql: not one of the migration files\n',
    });
    expect(await check(join(dir, '2.sql'))).toEqual({
      code: 2, stdout: '', stderr: `perfaudit: ${join(dir, '2.sql')}:2: syntax error at or near "TABLEE"\n`,
    });
  });

  it('uses a given server for the scratch database, never creates roles there, and always drops the database', async () => {
    const scratchDatabases = () => withClient(inject('pgUrl'), async (client) =>
      (await client.query(`SELECT datname FROM pg_database WHERE datname LIKE 'perfaudit_migrations_%'`)).rows);
    const dir = await migrationsDir({ '1.sql': 'CREATE TABLE a (id int PRIMARY KEY);\nGRANT SELECT ON a TO perfaudit_no_such_role;\n' });
    expect(await check(dir)).toEqual({
      code: 2, stdout: '', stderr: `perfaudit: migration ${join(dir, '1.sql')}:2 failed: role "perfaudit_no_such_role" does not exist\n`,
    });
    const result = await check(FIXTURE, '--since', '0001_init.sql', '--rules', SCHEMA_RULES, '--format', 'json');
    expect(located(result)).toEqual(located(sinceFirst));
    expect(await scratchDatabases()).toEqual([]);
  });

  it('with a baseline, reports only what is new since it was written', async () => {
    const dir = await migrationsDir({});
    await cp(FIXTURE, dir, { recursive: true });
    const baseline = join(dir, 'baseline.json');
    const written = await check(dir, '--since', '0001_init.sql', '--write-baseline', baseline);
    expect(written).toEqual({ code: 0, stdout: '', stderr: `wrote ${baseline}: 10 known findings\n` });
    await writeFile(join(dir, '0005_watchers.sql'), 'CREATE TABLE watchers (id bigint PRIMARY KEY, task_id bigint REFERENCES tasks);\n');
    const result = await check(dir, '--since', '0001_init.sql', '--rules', SCHEMA_RULES, '--baseline', baseline, '--format', 'json');
    expect(result.code).toBe(1);
    expect(located(result)).toEqual([`missing-fk-index ${join(dir, '0005_watchers.sql')}:1 public.watchers.watchers_task_id_fkey`]);
    // The lock-hazard entries belong to rules this run left out: neither found nor stale.
    expect(JSON.parse(result.stdout).baseline).toMatchObject({ suppressed: 5, stale: [], unchecked: 5 });
  });
});
