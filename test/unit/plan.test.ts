import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/plan/plan.js';
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
