import { describe, expect, it } from 'vitest';
import { loadRules } from '../../src/analyze/registry.js';
import { renderSarif } from '../../src/report/sarif.js';
import { createIndex, findingOf, reportOf } from '../helpers/report.js';
import { sarifErrors } from '../helpers/sarif-schema.js';

const rules = await loadRules();
const fk = findingOf('missing-fk-index', 'critical', { kind: 'constraint', schema: 'app', table: 'tasks', name: 'tasks_project_id_fkey', columns: ['project_id'] }, {
  message: 'app.tasks(project_id) references app.projects.',
  evidence: { tableRows: 1_200_000 },
  actions: [createIndex('CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_project_id_idx ON app.tasks (project_id);')],
});
// A migration finding: the file name needs escaping as a URI.
const migration = findingOf('missing-fk-index', 'warning', { kind: 'constraint', schema: 'app', table: 'orders', name: 'orders_user_id_fkey', columns: ['user_id'] }, {
  message: 'The migration adds a foreign key without an index.',
  location: { file: 'db/migrations/0002 add #orders Ü.sql', line: 12 },
});
const database = findingOf('autovacuum-disabled', 'info', { kind: 'database' });

describe('SARIF log', () => {
  const log = JSON.parse(renderSarif(reportOf([fk, migration, database]), rules));

  it('is valid SARIF 2.1.0 by the official schema', () => {
    expect(sarifErrors(log)).toEqual([]);
    expect(log).toMatchObject({ $schema: 'https://json.schemastore.org/sarif-2.1.0.json', version: '2.1.0' });
    expect(log.runs).toHaveLength(1);
  });

  it('lists the whole rule catalogue with each rule\'s runbook as help', () => {
    const { driver } = log.runs[0].tool;
    expect(driver).toMatchObject({ name: 'perfaudit', version: '0.1.0', semanticVersion: '0.1.0' });
    expect(driver.rules.map((rule: { id: string }) => rule.id)).toEqual(rules.map((rule) => rule.id));
    const rule = rules.find((candidate) => candidate.id === 'missing-fk-index');
    expect(driver.rules.find((descriptor: { id: string }) => descriptor.id === 'missing-fk-index')).toEqual({
      id: 'missing-fk-index',
      name: 'MissingFkIndex',
      shortDescription: { text: 'Foreign key without a supporting index' },
      fullDescription: { text: 'A foreign key whose referencing columns are not the leading columns of any index.' },
      help: { text: rule?.docs.trim(), markdown: rule?.docs.trim() },
      defaultConfiguration: { level: 'warning' },
      properties: { tags: ['postgresql', 'indexes'] },
    });
  });

  it('gives database findings a logical location, fix SQL in the message and properties', () => {
    const ruleIndex = rules.findIndex((rule) => rule.id === 'missing-fk-index');
    expect(log.runs[0].results[0]).toEqual({
      ruleId: 'missing-fk-index',
      ruleIndex,
      level: 'error',
      message: { text: 'app.tasks(project_id) references app.projects.\nFix: CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_project_id_idx ON app.tasks (project_id);' },
      locations: [{ logicalLocations: [{ name: 'tasks_project_id_fkey', fullyQualifiedName: 'app.tasks.tasks_project_id_fkey', kind: 'constraint' }] }],
      partialFingerprints: { primaryLocationLineHash: fk.fingerprint },
      properties: {
        severity: 'critical',
        target: fk.target,
        evidence: { tableRows: 1_200_000 },
        fixes: ['CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_project_id_idx ON app.tasks (project_id);'],
      },
    });
    expect(log.runs[0].results[2].locations).toEqual([{ logicalLocations: [{ name: 'app', fullyQualifiedName: 'app', kind: 'database' }] }]);
    expect(log.runs[0].results[2].level).toBe('note');
  });

  it('gives migration findings a physical location: relative URI, escaped, with the line', () => {
    expect(log.runs[0].results[1].locations).toEqual([{
      physicalLocation: { artifactLocation: { uri: 'db/migrations/0002%20add%20%23orders%20%C3%9C.sql' }, region: { startLine: 12 } },
      logicalLocations: [{ name: 'orders_user_id_fkey', fullyQualifiedName: 'app.orders.orders_user_id_fkey', kind: 'constraint' }],
    }]);
    expect(log.runs[0].results[1].level).toBe('warning');
  });

  it('marks results new and carries the baseline block when a baseline was applied', () => {
    const withBaseline = JSON.parse(renderSarif(reportOf([fk], { baseline: { file: 'b.json', suppressed: 2, stale: [], unchecked: 0 } }), rules));
    expect(sarifErrors(withBaseline)).toEqual([]);
    expect(withBaseline.runs[0].results[0].baselineState).toBe('new');
    expect(withBaseline.runs[0].properties).toEqual({ baseline: { file: 'b.json', suppressed: 2, stale: [], unchecked: 0 } });
  });
});
