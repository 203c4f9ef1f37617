import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRules } from '../../src/analyze/registry.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { isMigrationRule } from '../../src/rule.js';

const CONTRACT_IDS = [
  'missing-fk-index', 'duplicate-index', 'redundant-index', 'invalid-index', 'unused-index', 'index-bloat',
  'missing-primary-key', 'sequence-exhaustion',
  'slow-query', 'n-plus-one', 'missing-index', 'seq-scan-heavy', 'low-cache-hit',
  'table-bloat', 'vacuum-overdue', 'autovacuum-disabled', 'stale-statistics', 'xid-wraparound',
  'non-concurrent-index-build', 'non-concurrent-index-drop', 'non-concurrent-reindex', 'constraint-without-not-valid',
  'rewriting-column-type', 'set-not-null-scan', 'volatile-column-default', 'table-rewrite-command',
  'concurrently-in-transaction', 'missing-lock-timeout',
];

// As ESLint does: a rule, its fixture, its test and its docs share one name, and a rule
// missing any of them fails the build. A migration rule's fixture is a directory of
// migration files (fixtures/<id>/0001_schema.sql first), a scan rule's one SQL file.
describe('every rule', async () => {
  const rules = await loadRules();
  it.each(rules.map((rule) => [rule.id, rule] as const))('%s has a fixture, a test, docs and a contract id', async (id, rule) => {
    expect(CONTRACT_IDS).toContain(id);
    const fixture = isMigrationRule(rule) ? join(id, '0001_schema.sql') : `${id}.sql`;
    expect(existsSync(join(PACKAGE_ROOT, 'fixtures', fixture))).toBe(true);
    if (isMigrationRule(rule)) expect(await expectedStatements(id)).toBeGreaterThan(0);
    expect(existsSync(join(PACKAGE_ROOT, 'test', 'rules', `${id}.test.ts`))).toBe(true);
    for (const section of ['## What is wrong', '## Why it hurts', '## How perfaudit detects it', '## Fix', '## Limits']) {
      expect(rule.docs).toContain(section);
    }
    expect(['indexes', 'queries', 'maintenance', 'schema', 'migrations']).toContain(rule.category);
  });
});

// A migration fixture marks each statement that must produce a finding of its rule with a
// `-- perfaudit-expect: <rule-id>` line right above it, in the files after 0001_schema.sql.
async function expectedStatements(id: string): Promise<number> {
  const dir = join(PACKAGE_ROOT, 'fixtures', id);
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql') && file !== '0001_schema.sql');
  const texts = await Promise.all(files.map((file) => readFile(join(dir, file), 'utf8')));
  return texts.join('\n').split('\n').filter((line) => line.trim() === `-- perfaudit-expect: ${id}`).length;
}
