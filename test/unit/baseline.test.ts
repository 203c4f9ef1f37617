import { describe, expect, it } from 'vitest';
import { applyBaseline, baselineEntries, type Baseline } from '../../src/report/baseline.js';
import { parseBaseline, renderBaseline } from '../../src/report/baseline-file.js';
import { findingOf } from '../helpers/report.js';

const fk = findingOf('missing-fk-index', 'warning', { kind: 'constraint', schema: 'app', table: 'tasks', name: 'tasks_project_id_fkey', columns: ['project_id'] });
const pk = findingOf('missing-primary-key', 'info', { kind: 'table', schema: 'billing', table: 'log' });
const slow = findingOf('slow-query', 'warning', { kind: 'query', query: 'SELECT * FROM app.tasks WHERE title = $1' });
// The same migration statement at two lines: one identity (the fingerprint never has the line).
const atLine = (line: number) => findingOf('require-concurrent-index', 'warning', { kind: 'table', schema: 'app', table: 'orders' }, {
  location: { file: 'db/migrations/0002_orders.sql', line },
});

const baselineOf = (findings = [fk, pk, slow, atLine(3)]): Baseline => ({ file: 'perfaudit-baseline.json', entries: baselineEntries(findings) });

describe('baseline entries', () => {
  it('keeps one readable entry per fingerprint, sorted by rule, file and object', () => {
    expect(baselineEntries([slow, atLine(3), pk, fk, atLine(9)])).toEqual([
      { rule: 'missing-fk-index', object: 'app.tasks.tasks_project_id_fkey', schema: 'app', columns: ['project_id'], fingerprint: fk.fingerprint },
      { rule: 'missing-primary-key', object: 'billing.log', schema: 'billing', fingerprint: pk.fingerprint },
      { rule: 'require-concurrent-index', object: 'app.orders', schema: 'app', file: 'db/migrations/0002_orders.sql', fingerprint: atLine(3).fingerprint },
      { rule: 'slow-query', object: 'query', query: 'SELECT * FROM app.tasks WHERE title = $1', fingerprint: slow.fingerprint },
    ]);
  });

  it('round-trips through the file format, which ends in a newline', () => {
    const text = renderBaseline(baselineOf().entries);
    expect(text.startsWith('{\n  "perfauditBaseline": 1,\n  "findings": [\n    {\n      "rule": "missing-fk-index",')).toBe(true);
    expect(text.endsWith('}\n')).toBe(true);
    expect(parseBaseline(text, 'b.json')).toEqual({ file: 'b.json', entries: baselineOf().entries });
  });
});

describe('applyBaseline', () => {
  const everyRule = { rules: ['missing-fk-index', 'missing-primary-key', 'slow-query', 'require-concurrent-index'] };

  it('suppresses known findings wherever they are, keeps new ones, lists checked entries not found', () => {
    const fresh = findingOf('missing-fk-index', 'warning', { kind: 'constraint', schema: 'app', table: 'comments', name: 'comments_task_id_fkey', columns: ['task_id'] });
    const { findings, summary } = applyBaseline([fk, fresh, atLine(12), slow], baselineOf(), everyRule);
    expect(findings).toEqual([fresh]);
    expect(summary).toEqual({ file: 'perfaudit-baseline.json', suppressed: 3, stale: [baselineOf().entries[1]], unchecked: 0 });
  });

  it('never calls stale what the run did not check: rules not run, other schemas, other files', () => {
    expect(applyBaseline([], baselineOf(), { rules: ['missing-fk-index'] }).summary)
      .toMatchObject({ stale: [baselineOf().entries[0]], unchecked: 3 });
    expect(applyBaseline([], baselineOf(), { ...everyRule, schemas: ['billing'] }).summary)
      .toMatchObject({ stale: [baselineOf().entries[1], baselineOf().entries[3]], unchecked: 2 });
    expect(applyBaseline([], baselineOf(), { ...everyRule, files: ['./db/migrations/0003_later.sql'] }).summary)
      .toMatchObject({ stale: [baselineOf().entries[0], baselineOf().entries[1], baselineOf().entries[3]], unchecked: 1 });
    expect(applyBaseline([atLine(5)], baselineOf(), { ...everyRule, files: ['db/migrations/0002_orders.sql'] }).summary)
      .toMatchObject({ suppressed: 1, unchecked: 0 });
  });
});

describe('parseBaseline', () => {
  const fail = (text: string) => () => parseBaseline(text, 'b.json');

  it('names the file and the line of a JSON syntax error', () => {
    expect(fail('{\n  "perfauditBaseline": 1,\n  "findings": [\n    {"rule": "x",}\n  ]\n}\n')).toThrow(/^b\.json:4: invalid JSON: /);
    expect(fail('{\n  "perfauditBaseline": 1,\n  "findings": [\n')).toThrow(/^b\.json:4: invalid JSON: Unexpected end of JSON input$/);
    expect(fail('{\n  "perfauditBaseline": tru\n}')).toThrow(/^b\.json: invalid JSON: Unexpected token "\\n"$/);
  });

  it('refuses a newer format, other JSON and broken entries with one line', () => {
    expect(fail('{"perfauditBaseline": 2, "findings": []}')).toThrow('b.json: baseline format 2 is newer than this perfaudit reads (1); upgrade perfaudit');
    expect(fail('{"schemaVersion": 1, "findings": []}')).toThrow('b.json: not a perfaudit baseline (no "perfauditBaseline" format; write one with perfaudit baseline)');
    expect(fail('[]')).toThrow('b.json: not a perfaudit baseline');
    expect(fail('{"perfauditBaseline": "1", "findings": []}')).toThrow('b.json: "perfauditBaseline" must be the format number (1)');
    expect(fail('{"perfauditBaseline": 1}')).toThrow('b.json: "findings" must be a list');
    expect(fail('{"perfauditBaseline": 1, "findings": [{"rule": "x", "fingerprint": "abc"}]}')).toThrow('b.json: findings[0] needs a "rule" and a "fingerprint" (40 hex digits)');
  });
});
