import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/report.js';
import { runCli } from '../helpers/cli.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

const SKIPPED = 'missing-index, n-plus-one, slow-query, unused-index';

describe('perfaudit baseline and scan --baseline (CLI)', () => {
  let db: TestDatabase;
  let dir: string;
  let file: string;
  let known: number;
  const scan = async (...args: string[]) => {
    const result = await runCli(['scan', '-d', db.url, '--format', 'json', '--baseline', file, ...args]);
    return { code: result.code, stderr: result.stderr, report: JSON.parse(result.stdout || 'null') as Report };
  };

  beforeAll(async () => {
    db = await createDatabase('missing-fk-index');
    // Settled statistics: autovacuum's analyze must not change stale-statistics findings mid-test.
    await db.run('ANALYZE');
    dir = await mkdtemp(join(tmpdir(), 'perfaudit-baseline-'));
    file = join(dir, 'perfaudit-baseline.json');
  });
  afterAll(() => db.drop());

  it('records the current findings; a scan against them finds nothing new and exits 0', async () => {
    const taken = await runCli(['baseline', '-d', db.url, '--output', file]);
    const entries = JSON.parse(await readFile(file, 'utf8')).findings;
    known = entries.length;
    expect(taken).toEqual({ code: 0, stdout: '', stderr: `wrote ${file}: ${known} known findings (4 rules skipped: ${SKIPPED})\n` });
    expect(known).toBe(12);
    expect(entries).toContainEqual({
      rule: 'missing-fk-index', object: 'app.features.features_project_id_fkey', schema: 'app', columns: ['project_id'], fingerprint: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    const { code, report } = await scan();
    expect(code).toBe(0);
    expect(report.findings).toEqual([]);
    expect(report.summary).toEqual({ critical: 0, warning: 0, info: 0 });
    expect(report.baseline).toEqual({ file, suppressed: known, stale: [], unchecked: 0 });
  });

  it('writes the same bytes when taken twice on an unchanged database', async () => {
    const again = join(dir, 'again.json');
    expect((await runCli(['baseline', '-d', db.url, '--output', again])).code).toBe(0);
    expect(await readFile(again)).toEqual(await readFile(file));
  });

  it('reports exactly a new unindexed foreign key and exits 1', async () => {
    await db.run(`
      CREATE TABLE app.labels (id bigint PRIMARY KEY, project_id bigint REFERENCES app.projects ON DELETE CASCADE, name text);
      INSERT INTO app.labels SELECT g, 1 + g % 5000, 'label ' || g FROM generate_series(1, 3000) g;`);
    // From another session: the inserting one has flushed its counters when it closed.
    await db.run('ANALYZE app.labels');
    const { code, report } = await scan();
    expect(code).toBe(1);
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({
      rule: 'missing-fk-index',
      severity: 'warning',
      target: { kind: 'constraint', schema: 'app', table: 'labels', name: 'labels_project_id_fkey', columns: ['project_id'], query: null },
      actions: [{ sql: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS labels_project_id_idx ON app.labels (project_id);' }],
    });
    expect(report.summary).toEqual({ critical: 0, warning: 1, info: 0 });
    expect(report.baseline).toEqual({ file, suppressed: known, stale: [], unchecked: 0 });
  });

  it('lists a fixed problem as the one stale entry, in json and text', async () => {
    await db.run('CREATE INDEX features_project_id_idx ON app.features (project_id)');
    const { report } = await scan();
    expect(report.baseline).toEqual({
      file,
      suppressed: known - 1,
      stale: [{ rule: 'missing-fk-index', object: 'app.features.features_project_id_fkey', schema: 'app', columns: ['project_id'], fingerprint: expect.stringMatching(/^[0-9a-f]{40}$/) }],
      unchecked: 0,
    });
    const text = (await runCli(['scan', '-d', db.url, '--baseline', file])).stdout;
    expect(text).toContain([
      `${known - 1} known findings suppressed by baseline ${file}; 1 stale entry — re-run perfaudit baseline to prune`,
      '  stale: missing-fk-index app.features.features_project_id_fkey (project_id)',
    ].join('\n'));
  });

  it('calls nothing stale that the scan did not check: other rules, other schemas, skipped rules', async () => {
    const fkEntries = JSON.parse(await readFile(file, 'utf8')).findings.filter((entry: { rule: string }) => entry.rule === 'missing-fk-index').length;
    expect((await scan('--rules', 'missing-primary-key')).report.baseline).toEqual({ file, suppressed: 3, stale: [], unchecked: known - 3 });
    expect((await scan('--exclude-rules', 'missing-fk-index')).report.baseline).toMatchObject({ stale: [], unchecked: fkEntries });
    expect((await scan('--schema', 'public')).report.baseline).toEqual({ file, suppressed: 0, stale: [], unchecked: known });

    // An entry of a rule that needs pg_stat_statements, which this database lacks: skipped, so not stale.
    const withQuery = join(dir, 'with-query.json');
    const slowQuery = { rule: 'slow-query', object: 'query', query: 'SELECT * FROM app.features WHERE title = $1', fingerprint: 'f'.repeat(40) };
    const baseline = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(withQuery, JSON.stringify({ ...baseline, findings: [...baseline.findings, slowQuery] }));
    const { report } = await runCli(['scan', '-d', db.url, '--format', 'json', '--baseline', withQuery]).then((result) => ({ report: JSON.parse(result.stdout) as Report }));
    expect(report.skipped.map((skip) => skip.rule)).toContain('slow-query');
    expect(report.baseline?.stale.map((entry) => entry.object)).toEqual(['app.features.features_project_id_fkey']);
    expect(report.baseline?.unchecked).toBe(1);
  });

  it('refuses a malformed, newer or unreadable baseline with one line and exit 2', async () => {
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{\n  "perfauditBaseline": 1,\n  "findings": [\n    {"rule": "x",}\n  ]\n}\n');
    expect(await runCli(['scan', '-d', db.url, '--baseline', broken])).toEqual({
      code: 2, stdout: '', stderr: `perfaudit: ${broken}:4: invalid JSON: Expected double-quoted property name\n`,
    });
    const newer = join(dir, 'newer.json');
    await writeFile(newer, '{"perfauditBaseline": 2, "findings": []}\n');
    expect(await runCli(['scan', '-d', db.url, '--baseline', newer])).toEqual({
      code: 2, stdout: '', stderr: `perfaudit: ${newer}: baseline format 2 is newer than this perfaudit reads (1); upgrade perfaudit\n`,
    });
    // Read before connecting: the bad file is reported even when the database is unreachable.
    expect(await runCli(['scan', '-d', 'postgres://nobody@127.0.0.1:1/none', '--baseline', join(dir, 'missing.json')])).toEqual({
      code: 2, stdout: '', stderr: `perfaudit: cannot read baseline ${join(dir, 'missing.json')}: ENOENT\n`,
    });
    expect((await runCli(['baseline', '-d', db.url])).stderr).toBe('perfaudit: required option \'--output <file>\' not specified\n');
  });
});
