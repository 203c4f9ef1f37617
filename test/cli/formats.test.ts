import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRules } from '../../src/analyze/registry.js';
import type { Report } from '../../src/report/report.js';
import { runCli } from '../helpers/cli.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';
import { sarifErrors } from '../helpers/sarif-schema.js';

describe('scan --format sarif | markdown | github (CLI)', () => {
  let db: TestDatabase;
  let report: Report;
  const scan = (format: string) => runCli(['scan', '-d', db.url, '--format', format, '--rules', 'missing-fk-index,duplicate-index']);
  beforeAll(async () => {
    db = await createDatabase('hostile-identifiers');
    report = JSON.parse((await scan('json')).stdout);
  });
  afterAll(() => db.drop());

  it('writes a schema-valid SARIF log with the rule catalogue and one result per finding', async () => {
    const result = await scan('sarif');
    expect(result.code).toBe(1);
    const log = JSON.parse(result.stdout);
    expect(sarifErrors(log)).toEqual([]);
    const [run] = log.runs;
    expect(run.tool.driver.rules.map((rule: { id: string }) => rule.id)).toEqual((await loadRules()).map((rule) => rule.id));
    expect(run.results.map((r: { partialFingerprints: { primaryLocationLineHash: string } }) => r.partialFingerprints.primaryLocationLineHash))
      .toEqual(report.findings.map((finding) => finding.fingerprint));
    const objects = run.results.map((r: { locations: { logicalLocations: unknown[] }[] }) => r.locations[0]?.logicalLocations[0]);
    expect(objects).toContainEqual({
      name: 'fk ; DROP TABLE x; --', fullyQualifiedName: 'Hostile "Schema"; --.-- not a comment /* nor this */.fk ; DROP TABLE x; --', kind: 'constraint',
    });
  });

  it('writes markdown whose tables and fences hostile names cannot break', async () => {
    const result = await scan('markdown');
    expect(result.code).toBe(1);
    expect(result.stdout.startsWith(`## perfaudit: ${report.summary.critical} critical, ${report.summary.warning} warning, ${report.summary.info} info\n`)).toBe(true);
    expect(result.stdout.split('\n#### ')).toHaveLength(report.findings.length + 1);
    expect(result.stdout).toContain('- Object: `Hostile "Schema"; --.-- not a comment /* nor this */.fk ; DROP TABLE x; --` (`--col`)');
  });

  it('writes one workflow command per finding, properties free of raw separators', async () => {
    const result = await scan('github');
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(report.findings.length);
    for (const line of lines) expect(line).toMatch(/^::(error|warning|notice) title=[^:,\n]*::[^\r\n]+$/);
  });

  it('shares the formats with demo', async () => {
    expect((await runCli(['demo', '--format', 'yaml'])).stderr)
      .toBe("perfaudit: option '--format <format>' argument 'yaml' is invalid. Allowed choices are text, json, sql, markdown, sarif, github.\n");
  });
});
