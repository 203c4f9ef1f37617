import { fingerprint } from '../../src/analyze/engine.js';
import { summarize, type Report } from '../../src/report/report.js';
import { target, type Action, type Finding, type Severity, type Target } from '../../src/rule.js';

/** A finding as the engine would make it, for renderer tests. */
export function findingOf(rule: string, severity: Severity, targetFields: Partial<Target> & Pick<Target, 'kind'>, extra: Partial<Finding> = {}): Finding {
  const { kind, ...fields } = targetFields;
  const findingTarget = target(kind, fields);
  return {
    rule,
    severity,
    title: extra.title ?? rule,
    message: `${rule} finding`,
    target: findingTarget,
    evidence: {},
    actions: [],
    fingerprint: fingerprint(rule, findingTarget),
    ...extra,
  };
}

/** A create-index fix action. */
export function createIndex(sql: string): Action {
  return { kind: 'create-index', sql, transactional: false, lock: 'SHARE UPDATE EXCLUSIVE' };
}

/** A report around the given findings, with fixed times so renderings compare exactly. */
export function reportOf(findings: readonly Finding[], extra: Partial<Report> = {}): Report {
  return {
    schemaVersion: 1,
    tool: { name: 'perfaudit', version: '0.1.0' },
    database: { name: 'app', serverVersion: '18.4', statsResetAt: null },
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 5,
    summary: summarize(findings),
    workload: { statements: 0, hiddenStatements: 0, utilityStatements: 0, unparseableStatements: 0, sampleSeconds: null, unavailable: null },
    findings,
    skipped: [],
    ...extra,
  };
}
