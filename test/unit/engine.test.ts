import { describe, expect, it } from 'vitest';
import { analyze, fingerprint, globMatches } from '../../src/analyze/engine.js';
import type { Snapshot } from '../../src/collect/snapshot.js';
import { EMPTY_CONFIG, parseConfig } from '../../src/config/load.js';
import { defineRule, target } from '../../src/rule.js';

const snapshot = {
  format: 1, collectedAt: '2026-01-01T00:00:00Z', tables: [], indexes: [], foreignKeys: [], indexesInProgress: [], otherRelationNames: [], sequences: [], columnStats: [],
  workload: { unavailable: null, statements: [], hiddenStatements: 0, deallocations: null, statsResetAt: null, sampleSeconds: null },
  server: { version: '18.4', versionNum: 180004, database: 'app', currentUser: 'u', inRecovery: false, statsResetAt: null,
    startedAt: '2026-01-01T00:00:00Z', settings: {}, extensions: [], blockSize: 8192, databaseBlocks: { hit: 0, read: 0 },
    databaseFrozenXidAge: 0, databaseMinMultiXactAge: 0, horizonHolders: [] },
} satisfies Snapshot;

const everyTable = defineRule({
  id: 'missing-primary-key', title: 'T', category: 'schema', severity: 'warning', requires: [], options: { limit: 2 }, docs: '',
  check: (_snapshot, options) => ['a.one', 'a.two', 'b.three'].slice(0, options.limit + 1).map((name) => {
    const [schema = '', table = ''] = name.split('.');
    return { message: name, target: target('table', { schema, table }), evidence: {}, actions: [] };
  }),
});
const needsExtension = defineRule({
  id: 'slow-query', title: 'S', category: 'queries', severity: 'warning', requires: ['pg_stat_statements'], options: {}, docs: '',
  check: () => [],
});
const rules = [everyTable, needsExtension];

describe('analyze', () => {
  it('skips rules whose extension is missing, saying how to enable it as far as the role can tell', () => {
    const withPreload = (libraries: string | undefined): Snapshot => ({
      ...snapshot, server: { ...snapshot.server, settings: libraries === undefined ? {} : { shared_preload_libraries: libraries } },
    });
    const reasons = (libraries: string | undefined) => analyze(withPreload(libraries), rules, EMPTY_CONFIG).skipped.map((skip) => `${skip.rule}: ${skip.reason}`);
    expect(reasons('')).toEqual([
      'slow-query: pg_stat_statements is not installed in database app: add pg_stat_statements to shared_preload_libraries in postgresql.conf, restart the server, then run CREATE EXTENSION pg_stat_statements;',
    ]);
    expect(reasons('auto_explain, pg_stat_statements')).toEqual(['slow-query: pg_stat_statements is not installed in database app: run CREATE EXTENSION pg_stat_statements;']);
    // Superuser-only: a role without pg_read_all_settings does not see the setting at all.
    expect(reasons(undefined)).toEqual([
      'slow-query: pg_stat_statements is not installed in database app: run CREATE EXTENSION pg_stat_statements; (it must be in shared_preload_libraries too, which role u may not read without pg_read_all_settings)',
    ]);
  });

  it('lists a rule that could judge only part of the snapshot under skipped as well', () => {
    const partial = defineRule({ ...everyTable, coverageGap: (_snapshot, options) => (options.limit > 1 ? `${options.limit} tables hidden` : null) });
    const result = analyze(snapshot, [partial], EMPTY_CONFIG);
    expect(result.findings).toHaveLength(3);
    expect(result.skipped).toEqual([{ rule: 'missing-primary-key', reason: 'partly: 2 tables hidden' }]);
    expect(analyze(snapshot, [partial], parseConfig('rules:\n  missing-primary-key:\n    limit: 1\n', 'x.yml', [partial])).skipped).toEqual([]);
  });

  it('applies options, severity overrides, ignores and the schema filter', () => {
    const config = parseConfig('rules:\n  missing-primary-key:\n    limit: 1\n    severity: critical\nignore:\n  - table: a.o*\n', 'x.yml', rules);
    const result = analyze(snapshot, rules, config, { schemas: ['a', 'b'] });
    expect(result.findings.map((f) => [f.target.table, f.severity])).toEqual([['two', 'critical']]);
    expect(analyze(snapshot, rules, EMPTY_CONFIG, { schemas: ['b'] }).findings.map((f) => f.target.table)).toEqual(['three']);
  });

  it('fingerprints by identity, unambiguously', () => {
    const a = fingerprint('r', target('table', { schema: 'a_b', table: 'c' }));
    const b = fingerprint('r', target('table', { schema: 'a', table: 'b_c' }));
    expect(a).not.toBe(b);
    expect(a).toBe(fingerprint('r', target('table', { schema: 'a_b', table: 'c' })));
  });

  it('matches ignore globs literally except * and ?', () => {
    expect(globMatches('app.audit_*', 'app.audit_2024')).toBe(true);
    expect(globMatches('app.audit_*', 'appXaudit_2024')).toBe(false);
    expect(globMatches('a?c', 'abc')).toBe(true);
  });
});
