import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';
import type { Report } from '../../src/report/report.js';
import { findingsOf } from '../helpers/findings.js';

const run = promisify(execFile);

// `perfaudit demo` end to end through the built CLI (the suite builds dist/ first): an
// embedded PostgreSQL, fixtures/demo/schema.sql, the recorded workload, a scan. The
// planted problems are asserted exactly, rule by rule; the look-alikes must stay quiet.
describe('perfaudit demo', () => {
  let report: Report;
  let stdout: string;
  let exitCode: number;

  beforeAll(async () => {
    try {
      ({ stdout } = await run(process.execPath, [join(PACKAGE_ROOT, 'bin/perfaudit.js'), 'demo', '--format', 'json'], {
        cwd: PACKAGE_ROOT,
        timeout: 240_000,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, NO_COLOR: '1' },
      }));
      exitCode = 0;
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      throw new Error(`perfaudit demo failed (exit ${failed.code}): ${failed.stderr ?? ''}${failed.stdout?.slice(0, 2000) ?? ''}`);
    }
    report = JSON.parse(stdout) as Report;
  }, 300_000);

  it('exits 0 with a JSON report of the demo database and no connection string in it', () => {
    expect(exitCode).toBe(0);
    expect(report.schemaVersion).toBe(1);
    expect(report.database.name).toBe('perfaudit_demo');
    expect(stdout).not.toMatch(/postgres(ql)?:\/\//);
  });

  it('runs every rule the demo config enables (unused-index with minStatsAgeDays: 0)', () => {
    expect(report.skipped.map((skipped) => skipped.rule)).not.toContain('unused-index');
  });

  it('reports the unindexed foreign keys, ranked, with the exact fix', () => {
    expect(findingsOf(report, 'missing-fk-index')).toEqual([
      { severity: 'warning', schema: 'app', table: 'backlogs', name: 'backlogs_feature_id_fkey', columns: ['feature_id'],
        sql: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS backlogs_feature_id_idx ON app.backlogs (feature_id);'] },
      { severity: 'warning', schema: 'app', table: 'documents', name: 'documents_owner_id_fkey', columns: ['owner_id'],
        sql: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_owner_id_idx ON app.documents (owner_id);'] },
      { severity: 'info', schema: 'app', table: 'documents', name: 'documents_type_id_fkey', columns: ['type_id'],
        sql: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_type_id_idx ON app.documents (type_id);'] },
      { severity: 'warning', schema: 'app', table: 'features', name: 'features_project_id_fkey', columns: ['project_id'],
        sql: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS features_project_id_idx ON app.features (project_id);'] },
      { severity: 'info', schema: 'app', table: 'features', name: 'features_status_id_fkey', columns: ['status_id'],
        sql: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS features_status_id_idx ON app.features (status_id);'] },
      { severity: 'info', schema: 'app', table: 'projects', name: 'projects_status_id_fkey', columns: ['status_id'],
        sql: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS projects_status_id_idx ON app.projects (status_id);'] },
    ]);
  });

  it('carries the workload in the evidence: projects and features saw deletes', () => {
    const evidence = (name: string) => report.findings.find((f) => f.rule === 'missing-fk-index' && f.target.name === name)?.evidence;
    expect(evidence('features_project_id_fkey')).toMatchObject({ referencedTable: 'app.projects', referencedDeletes: 20, onDelete: 'cascade' });
    expect(evidence('backlogs_feature_id_fkey')).toMatchObject({ referencedTable: 'app.features', referencedDeletes: 10, onDelete: 'cascade' });
  });

  it('stays quiet about the covered foreign keys', () => {
    const reported = report.findings.filter((f) => f.rule === 'missing-fk-index').map((f) => f.target.name);
    for (const lookAlike of [
      'projects_owner_id_fkey', // plain index
      'features_owner_id_fkey', // leading column of a two-column index
      'backlogs_assignee_id_fkey', // two identical indexes
      'resources_project_id_fkey', // a unique constraint's index (and a redundant prefix index)
      'resources_user_id_fkey', // its only index
      'documents_project_id_fkey', // (project_id, uploaded_at DESC)
      'documents_feature_id_fkey', // partial index WHERE feature_id IS NOT NULL
    ]) {
      expect(reported).not.toContain(lookAlike);
    }
  });

  it('reports the duplicate indexes, keeping the constraint and the scanned copy', () => {
    expect(findingsOf(report, 'duplicate-index')).toEqual([
      { severity: 'warning', schema: 'app', table: 'backlogs', name: 'backlogs_assignee_id_idx', columns: ['assignee_id'],
        sql: ['DROP INDEX CONCURRENTLY IF EXISTS app.backlogs_assignee_id_idx;'] },
      { severity: 'warning', schema: 'app', table: 'users', name: 'users_email_idx', columns: ['email'],
        sql: ['DROP INDEX CONCURRENTLY IF EXISTS app.users_email_idx;'] },
    ]);
    const duplicateOf = (name: string) => report.findings.find((f) => f.rule === 'duplicate-index' && f.target.name === name)?.evidence.duplicateOf;
    expect(duplicateOf('backlogs_assignee_id_idx')).toBe('backlogs_assignee_idx');
    expect(duplicateOf('users_email_idx')).toBe('users_email_key');
  });

  it('reports the prefix index covered by the unique constraint', () => {
    expect(findingsOf(report, 'redundant-index')).toEqual([
      { severity: 'warning', schema: 'app', table: 'resources', name: 'resources_project_id_idx', columns: ['project_id'],
        sql: ['DROP INDEX CONCURRENTLY IF EXISTS app.resources_project_id_idx;'] },
    ]);
    const finding = report.findings.find((f) => f.rule === 'redundant-index');
    expect(finding?.evidence.coveredBy).toBe('resources_project_id_user_id_key');
  });

  it('reports the indexes the workload never scanned, sparing every FK-supporting one', () => {
    expect(findingsOf(report, 'unused-index')).toEqual([
      { severity: 'info', schema: 'app', table: 'backlogs', name: 'backlogs_assignee_id_idx', columns: ['assignee_id'],
        sql: ['DROP INDEX CONCURRENTLY IF EXISTS app.backlogs_assignee_id_idx;'] },
      { severity: 'info', schema: 'app', table: 'documents', name: 'documents_checksum_idx', columns: ['checksum'],
        sql: ['DROP INDEX CONCURRENTLY IF EXISTS app.documents_checksum_idx;'] },
    ]);
  });

  it('never drops the last index supporting a foreign key, whichever rules propose drops', () => {
    const dropped = report.findings.flatMap((f) => f.actions).filter((action) => action.kind === 'drop-index').map((action) => action.sql);
    for (const support of [
      'projects_owner_id_idx', 'features_owner_id_status_id_idx', 'backlogs_assignee_idx', 'resources_project_id_user_id_key',
      'resources_user_id_idx', 'documents_project_id_uploaded_at_idx', 'documents_feature_id_idx',
    ]) {
      expect(dropped).not.toContain(`DROP INDEX CONCURRENTLY IF EXISTS app.${support};`);
    }
  });

  it('reports the audit log without a primary key, fixed with its unique NOT NULL index', () => {
    expect(findingsOf(report, 'missing-primary-key')).toEqual([
      { severity: 'warning', schema: 'app', table: 'audit_events', name: null, columns: [],
        sql: ['ALTER TABLE app.audit_events ADD PRIMARY KEY USING INDEX audit_events_id_key;'] },
    ]);
  });

  it('reports the index a failed migration left INVALID, with the query that finds the duplicate keys', () => {
    expect(findingsOf(report, 'invalid-index')).toEqual([
      { severity: 'warning', schema: 'app', table: 'resources', name: 'resources_user_id_role_key', columns: ['user_id', 'role'],
        sql: [
          'DROP INDEX CONCURRENTLY IF EXISTS app.resources_user_id_role_key;',
          [
            '-- Re-create the index once the cause of the failed build is fixed (after the DROP, or IF NOT EXISTS skips it).',
            '-- It is unique: these keys are duplicated and made the build fail; resolve them first.',
            'SELECT user_id, role, count(*) FROM app.resources GROUP BY user_id, role HAVING count(*) > 1 ORDER BY count(*) DESC LIMIT 100;',
            'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS resources_user_id_role_key ON app.resources USING btree (user_id, role);',
          ].join('\n'),
        ] },
    ]);
  });

  it('finds the one-row loop (N+1) and offers the batched query', () => {
    expect(findingsOf(report, 'n-plus-one').map(({ severity, schema, table, columns }) => ({ severity, schema, table, columns }))).toEqual([
      { severity: 'warning', schema: 'app', table: 'users', columns: ['id'] },
    ]);
    expect(findingsOf(report, 'n-plus-one')[0]?.sql[0]).toContain('SELECT id, full_name, email, time_zone FROM app.users WHERE id = ANY($1::bigint[]);');
  });

  it('finds the statements that dominate query time, never a utility statement', () => {
    const slow = report.findings.filter((finding) => finding.rule === 'slow-query').map((finding) => finding.target.query ?? '');
    expect(slow).toContain('SELECT id, title, status, points, assignee_id\nFROM app.backlogs\nWHERE feature_id = $1');
    for (const query of slow) expect(query).toMatch(/^SELECT /);
  });

  it('proposes the missing indexes: equality, composite equality+sort, partial; nothing an index already serves', () => {
    expect(findingsOf(report, 'missing-index').map((finding) => finding.sql)).toEqual([
      ['CREATE INDEX CONCURRENTLY IF NOT EXISTS backlogs_created_at_idx ON app.backlogs (created_at) WHERE triaged_at IS NULL;'],
      ['CREATE INDEX CONCURRENTLY IF NOT EXISTS backlogs_feature_id_idx ON app.backlogs (feature_id);'],
      ['CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_owner_id_type_id_uploaded_at_idx ON app.documents (owner_id, type_id, uploaded_at);'],
      ['CREATE INDEX CONCURRENTLY IF NOT EXISTS features_project_id_idx ON app.features (project_id);'],
    ]);
    // The demo's closing ANALYZE is the one utility statement the workload rules skip.
    expect(report.workload).toMatchObject({ hiddenStatements: 0, utilityStatements: 1, unparseableStatements: 0, unavailable: null });
  });
});
