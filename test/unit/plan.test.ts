import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/plan/plan.js';
import { lockImpact } from '../../src/report/sql.js';
import { target, type Action, type Finding } from '../../src/rule.js';

function dropFinding(rule: string, index: string, dependsOn?: string): Finding {
  const action: Action = {
    kind: 'drop-index', sql: `DROP INDEX CONCURRENTLY IF EXISTS app.${index};`, transactional: false, lock: 'SHARE UPDATE EXCLUSIVE',
    ...(dependsOn ? { dependsOn: { schema: 'app', name: dependsOn } } : {}),
  };
  return { rule, severity: 'warning', title: rule, message: index, fingerprint: `${rule}:${index}`, evidence: {},
    target: target('index', { schema: 'app', table: 't', name: index }), actions: [action] };
}

const create: Finding = {
  rule: 'missing-fk-index', severity: 'warning', title: 'fk', message: 'fk', fingerprint: 'fk', evidence: {},
  target: target('constraint', { schema: 'app', table: 't', name: 't_fkey' }),
  actions: [{ kind: 'create-index', sql: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON app.t (a);', transactional: false, lock: 'SHARE UPDATE EXCLUSIVE' }],
};

describe('buildPlan', () => {
  it('orders drops before builds and lists a statement once for all its findings', () => {
    const plan = buildPlan([create, dropFinding('duplicate-index', 'a_copy', 'a_idx'), dropFinding('unused-index', 'a_copy')]);
    expect(plan.steps.map((step) => [step.action.sql, step.findings.map((f) => f.rule)])).toEqual([
      ['DROP INDEX CONCURRENTLY IF EXISTS app.a_copy;', ['duplicate-index', 'unused-index']],
      ['CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON app.t (a);', ['missing-fk-index']],
    ]);
    expect(plan.held).toEqual([]);
  });

  it('never drops both an index and the index that made dropping it safe', () => {
    const plan = buildPlan([dropFinding('redundant-index', 'a_idx', 'a_b_idx'), dropFinding('unused-index', 'a_b_idx')]);
    expect(plan.steps.map((step) => step.action.sql)).toEqual(['DROP INDEX CONCURRENTLY IF EXISTS app.a_b_idx;']);
    expect(plan.held.map((step) => [step.action.sql, step.reason])).toEqual([
      ['DROP INDEX CONCURRENTLY IF EXISTS app.a_idx;', 'it relies on app.a_b_idx, which this plan drops too'],
    ]);
  });

  it('keeps a drop that another finding justifies on its own', () => {
    const plan = buildPlan([
      dropFinding('redundant-index', 'a_idx', 'a_b_idx'), dropFinding('unused-index', 'a_idx'), dropFinding('unused-index', 'a_b_idx'),
    ]);
    expect(plan.steps.map((step) => step.action.sql)).toEqual([
      'DROP INDEX CONCURRENTLY IF EXISTS app.a_idx;', 'DROP INDEX CONCURRENTLY IF EXISTS app.a_b_idx;',
    ]);
    expect(plan.held).toEqual([]);
  });
});

function maintenanceFinding(rule: string, table: string, kind: 'vacuum' | 'analyze', evidence: Finding['evidence']): Finding {
  const sql = kind === 'vacuum' ? `VACUUM (${rule === 'xid-wraparound' ? 'FREEZE' : 'ANALYZE'}, VERBOSE) app.${table};` : `ANALYZE app.${table};`;
  return { rule, severity: 'warning', title: rule, message: table, fingerprint: `${rule}:${table}`, evidence,
    target: target('table', { schema: 'app', table }), actions: [{ kind, sql, transactional: false, lock: 'SHARE UPDATE EXCLUSIVE' }] };
}

describe('buildPlan maintenance order', () => {
  it('puts wraparound vacuums first, oldest first, then the rest by wasted bytes or dead tuples', () => {
    const plan = buildPlan([
      maintenanceFinding('stale-statistics', 'a', 'analyze', { modifiedSinceAnalyze: 10 }),
      maintenanceFinding('vacuum-overdue', 'small', 'vacuum', { deadTuples: 1_000 }),
      maintenanceFinding('table-bloat', 'bloated', 'vacuum', { wastedBytes: 5_000_000_000 }),
      maintenanceFinding('xid-wraparound', 'young', 'vacuum', { age: 190_000_000 }),
      create,
      maintenanceFinding('vacuum-overdue', 'churn', 'vacuum', { deadTuples: 2_000_000 }),
      maintenanceFinding('stale-statistics', 'b', 'analyze', { modifiedSinceAnalyze: 10 }),
      maintenanceFinding('xid-wraparound', 'ancient', 'vacuum', { age: 1_900_000_000 }),
      dropFinding('unused-index', 'old_idx'),
    ]);
    expect(plan.steps.map((step) => step.action.sql)).toEqual([
      'DROP INDEX CONCURRENTLY IF EXISTS app.old_idx;',
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON app.t (a);',
      'VACUUM (FREEZE, VERBOSE) app.ancient;',
      'VACUUM (FREEZE, VERBOSE) app.young;',
      'VACUUM (ANALYZE, VERBOSE) app.bloated;',
      'VACUUM (ANALYZE, VERBOSE) app.churn;',
      'VACUUM (ANALYZE, VERBOSE) app.small;',
      'ANALYZE app.a;',
      'ANALYZE app.b;',
    ]);
  });

  it('ranks a step shared by several findings by its most urgent one', () => {
    const shared = (rule: string, evidence: Finding['evidence']): Finding => ({
      ...maintenanceFinding(rule, 'shared', 'vacuum', evidence),
      actions: [{ kind: 'vacuum', sql: 'VACUUM (ANALYZE, VERBOSE) app.shared;', transactional: false, lock: 'SHARE UPDATE EXCLUSIVE' }],
    });
    const plan = buildPlan([
      maintenanceFinding('table-bloat', 'big', 'vacuum', { wastedBytes: 1_000_000 }),
      shared('vacuum-overdue', { deadTuples: 10 }),
      shared('table-bloat', { wastedBytes: 9_000_000 }),
      maintenanceFinding('vacuum-overdue', 'no-figure', 'vacuum', {}),
    ]);
    expect(plan.steps.map((step) => [step.action.sql, step.findings.map((f) => f.rule)])).toEqual([
      ['VACUUM (ANALYZE, VERBOSE) app.shared;', ['vacuum-overdue', 'table-bloat']],
      ['VACUUM (ANALYZE, VERBOSE) app.big;', ['table-bloat']],
      ['VACUUM (ANALYZE, VERBOSE) app.no-figure;', ['vacuum-overdue']],
    ]);
  });
});

describe('lockImpact', () => {
  it('says whether a step lets the application read and write while it runs', () => {
    expect(['ACCESS SHARE', 'ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE', null].map(lockImpact)).toEqual(['online', 'online', 'online', 'online']);
    expect(['SHARE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE'].map(lockImpact)).toEqual(['blocks writes', 'blocks writes', 'blocks writes']);
    expect(['ACCESS EXCLUSIVE', 'something new'].map(lockImpact)).toEqual(['blocks reads and writes', 'blocks reads and writes']);
  });
});

describe('buildPlan with overlapping index proposals', () => {
  const build = (rule: string, columns: string[], sql: string): Finding => ({
    rule, severity: 'warning', title: rule, message: rule, fingerprint: `${rule}:${columns}`, evidence: {},
    target: target(rule === 'missing-fk-index' ? 'constraint' : 'table', { schema: 'app', table: 'documents', columns }),
    actions: [{ kind: 'create-index', sql, transactional: false, lock: 'SHARE UPDATE EXCLUSIVE' }],
  });

  it('builds one index when another planned index leads with the same columns', () => {
    const fk = build('missing-fk-index', ['owner_id'], 'CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_owner_id_idx ON app.documents (owner_id);');
    const advised = build('missing-index', ['owner_id', 'type_id'], 'CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_owner_id_type_id_idx ON app.documents (owner_id, type_id);');
    const other = build('missing-index', ['type_id'], 'CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_type_id_idx ON app.documents (type_id);');
    const plan = buildPlan([fk, advised, other]);
    expect(plan.steps.map((step) => [step.action.sql, step.findings.map((f) => f.rule)])).toEqual([
      ['CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_owner_id_type_id_idx ON app.documents (owner_id, type_id);', ['missing-index', 'missing-fk-index']],
      ['CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_type_id_idx ON app.documents (type_id);', ['missing-index']],
    ]);
  });
});
