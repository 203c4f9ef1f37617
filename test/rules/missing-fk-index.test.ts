import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type TestDatabase } from '../helpers/db.js';
import { findingsOf } from '../helpers/findings.js';

describe('missing-fk-index', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('missing-fk-index');
  });
  afterAll(() => db.drop());

  it('reports each unindexed foreign key once, ranked, with the exact fix; not the covered look-alikes', async () => {
    expect(findingsOf(await db.scan(['missing-fk-index']), 'missing-fk-index')).toEqual([
      { severity: 'warning', schema: 'app', table: 'attachments', name: 'attachments_project_id_fkey', columns: ['project_id'],
        sql: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS attachments_project_id_idx ON app.attachments (project_id);'] },
      { severity: 'warning', schema: 'app', table: 'comments', name: 'comments_project_id_fkey', columns: ['project_id'],
        sql: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS comments_project_id_idx ON app.comments (project_id);'] },
      { severity: 'warning', schema: 'app', table: 'events', name: 'events_project_id_fkey', columns: ['project_id'],
        sql: [
          'CREATE INDEX IF NOT EXISTS events_project_id_idx ON ONLY app.events (project_id);',
          'CREATE INDEX CONCURRENTLY IF NOT EXISTS events_2025_project_id_idx ON app.events_2025 (project_id);',
          'ALTER INDEX app.events_project_id_idx ATTACH PARTITION app.events_2025_project_id_idx;',
          'CREATE INDEX CONCURRENTLY IF NOT EXISTS events_2026_project_id_idx ON app.events_2026 (project_id);',
          'ALTER INDEX app.events_project_id_idx ATTACH PARTITION app.events_2026_project_id_idx;',
        ] },
      { severity: 'warning', schema: 'app', table: 'features', name: 'features_project_id_fkey', columns: ['project_id'],
        sql: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS features_project_id_idx ON app.features (project_id);'] },
      { severity: 'warning', schema: 'app', table: 'milestones', name: 'milestones_tenant_id_project_id_fkey', columns: ['tenant_id', 'project_id'],
        sql: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS milestones_tenant_id_project_id_idx ON app.milestones (tenant_id, project_id);'] },
      { severity: 'warning', schema: 'app', table: 'reviews', name: 'reviews_project_id_fkey', columns: ['project_id'],
        sql: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS reviews_project_id_idx ON app.reviews (project_id);'] },
      { severity: 'info', schema: 'app', table: 'settings', name: 'settings_project_id_fkey', columns: ['project_id'],
        sql: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS settings_project_id_idx ON app.settings (project_id);'] },
      { severity: 'info', schema: 'app', table: 'tasks', name: 'tasks_status_id_fkey', columns: ['status_id'],
        sql: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_status_id_idx ON app.tasks (status_id);'] },
    ]);
  });

  it('carries the evidence numbers', async () => {
    const finding = (await db.scan(['missing-fk-index'])).findings.find((f) => f.target.table === 'features');
    expect(finding?.evidence).toMatchObject({
      tableRows: 20000, referencedTable: 'app.projects', referencedRows: 4990, referencedDeletes: 10, onDelete: 'cascade',
    });
    expect(finding?.message).toBe('app.features(project_id) references app.projects; deletes and key updates on projects (10 deletes, 0 updates so far) scan features (20k rows) without an index.');
  });

  it('ranks a big referencing table under a written parent as critical', async () => {
    const config = { rules: { 'missing-fk-index': { options: { criticalRows: 10_000 } } }, ignore: [] };
    const severities = findingsOf(await db.scan(['missing-fk-index'], config), 'missing-fk-index').map((f) => `${f.table}:${f.severity}`);
    expect(severities).toContain('features:critical');
    expect(severities).toContain('tasks:info');
  });

  it('is cleared by its own fix', async () => {
    const copy = await createDatabase('missing-fk-index');
    try {
      const before = (await copy.scan(['missing-fk-index'])).findings;
      for (const action of before.flatMap((f) => f.actions)) await copy.run(action.sql);
      expect((await copy.scan(['missing-fk-index'])).findings).toEqual([]);
    } finally {
      await copy.drop();
    }
  });
});
