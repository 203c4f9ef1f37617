import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

describe('perfaudit scan (CLI)', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await createDatabase('missing-fk-index');
    dir = await mkdtemp(join(tmpdir(), 'perfaudit-cli-'));
  });
  afterAll(() => db.drop());

  it('prints the JSON report contract and exits 1 on warnings', async () => {
    const result = await runCli(['scan', '-d', db.url, '--format', 'json', '--rules', 'missing-fk-index']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      schemaVersion: 1,
      tool: { name: 'perfaudit', version: '0.1.0' },
      database: { name: db.name },
      summary: { critical: 0, warning: 6, info: 2 },
      skipped: [],
    });
    expect(report.findings[0]).toEqual({
      rule: 'missing-fk-index',
      severity: 'warning',
      title: 'Foreign key without a supporting index',
      message: expect.stringContaining('app.attachments(project_id) references app.projects'),
      target: { kind: 'constraint', schema: 'app', table: 'attachments', name: 'attachments_project_id_fkey', columns: ['project_id'], query: null },
      evidence: expect.objectContaining({ tableRows: 3000 }),
      actions: [{
        kind: 'create-index',
        sql: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS attachments_project_id_idx ON app.attachments (project_id);',
        transactional: false,
        lock: 'SHARE UPDATE EXCLUSIVE',
        undo: 'DROP INDEX CONCURRENTLY IF EXISTS app.attachments_project_id_idx;',
      }],
      fingerprint: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    expect(JSON.stringify(report)).not.toContain(new URL(db.url).password);
  });

  it('honours --fail-on', async () => {
    expect((await runCli(['scan', '-d', db.url, '--format', 'json', '--fail-on', 'critical'])).code).toBe(0);
    expect((await runCli(['scan', '-d', db.url, '--format', 'json', '--fail-on', 'info', '--rules', 'missing-fk-index', '--schema', 'nowhere'])).code).toBe(0);
    expect((await runCli(['scan', '-d', db.url, '--format', 'json', '--fail-on', 'none'])).code).toBe(0);
  });

  it('writes text to --output and keeps stdout empty', async () => {
    const file = join(dir, 'report.txt');
    const result = await runCli(['scan', '-d', db.url, '--output', file, '--rules', 'missing-fk-index', '--fail-on', 'none']);
    expect(result).toMatchObject({ code: 0, stdout: '' });
    const text = await readFile(file, 'utf8');
    expect(text).toContain('WARNING (6)');
    expect(text).toContain('CREATE INDEX CONCURRENTLY IF NOT EXISTS features_project_id_idx ON app.features (project_id);');
    expect(text).toContain('Summary: 0 critical, 6 warning, 2 info');
    expect(text).not.toMatch(/\u001b\[/); // no colour codes in files
  });

  it('scans a snapshot file offline with the same result', async () => {
    const file = join(dir, 'snapshot.json');
    const written = await runCli(['snapshot', '-d', db.url, '--output', file]);
    expect(written.code).toBe(0);
    const offline = JSON.parse((await runCli(['scan', '--snapshot', file, '--format', 'json'])).stdout);
    const online = JSON.parse((await runCli(['scan', '-d', db.url, '--format', 'json'])).stdout);
    expect(offline.findings).toEqual(online.findings);
    expect(await readFile(file, 'utf8')).not.toContain(new URL(db.url).password);
  });

  it('applies config: severity override, ignore globs, rule options', async () => {
    const config = join(dir, 'perfaudit.yml');
    await writeFile(config, [
      'rules:',
      '  missing-fk-index:',
      '    severity: info',
      'ignore:',
      '  - rule: missing-fk-index',
      '    table: app.event*',
      '',
    ].join('\n'));
    const report = JSON.parse((await runCli(['scan', '-d', db.url, '--format', 'json', '--config', config, '--rules', 'missing-fk-index'])).stdout);
    expect(report.summary).toEqual({ critical: 0, warning: 0, info: 7 });
    expect(report.findings.map((f: { target: { table: string } }) => f.target.table)).not.toContain('events');
  });

  it('renders a SQL migration that psql can run', async () => {
    const result = await runCli(['scan', '-d', db.url, '--format', 'sql', '--rules', 'missing-fk-index']);
    expect(result.stdout).toMatch(/^-- perfaudit fixes for database /);
    expect(result.stdout).toContain("SET lock_timeout = '5s';");
    expect(result.stdout).toContain('-- lock SHARE UPDATE EXCLUSIVE (online); not transactional\nCREATE INDEX CONCURRENTLY IF NOT EXISTS features_project_id_idx ON app.features (project_id);');
  });

  it('--sample analyses the change over a window', async () => {
    const result = await runCli(['scan', '-d', db.url, '--format', 'json', '--rules', 'missing-fk-index', '--sample', '1s']);
    const report = JSON.parse(result.stdout);
    expect(report.workload.sampleSeconds).toBeGreaterThanOrEqual(1);
    expect(report.workload.sampleSeconds).toBeLessThan(10);
    expect(report.durationMs).toBeGreaterThanOrEqual(1000);
  });
});
