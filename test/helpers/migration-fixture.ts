import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { expect, inject } from 'vitest';
import { byVersion } from '../../src/migrate/files.js';
import { checkMigrations } from '../../src/migrate/check.js';
import { FIXTURES_DIR } from '../../src/paths.js';

const MARKER = /^--\s*perfaudit-expect:\s*([a-z0-9-]+)\s*$/;

/**
 * Runs `fixtures/<rule>/` through the real check-migrations (its first file deployed,
 * the others new) and expects the rule's findings exactly at the statements marked
 * `-- perfaudit-expect: <rule>` on the line above, and nowhere else.
 */
export async function expectMarkedFindings(rule: string): Promise<void> {
  const dir = join(FIXTURES_DIR, rule);
  const files = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort(byVersion);
  const { report } = await checkMigrations({ paths: [dir], since: files[0], rules: [rule], server: inject('pgUrl') });
  const found = report.findings.map((finding) => `${basename(finding.location?.file ?? '?')}:${finding.location?.line}`);
  const marked = (await Promise.all(files.map(async (file) => markedLines(file, await readFile(join(dir, file), 'utf8'), rule)))).flat();
  expect(found.sort()).toEqual(marked.sort());
}

/** `file:line` of each statement under a marker for `rule`: the next line that is not a comment or blank. */
function markedLines(file: string, text: string, rule: string): string[] {
  const lines = text.split('\n');
  return lines.flatMap((line, index) => {
    if (MARKER.exec(line.trim())?.[1] !== rule) return [];
    const next = lines.findIndex((candidate, at) => at > index && candidate.trim() !== '' && !candidate.trim().startsWith('--'));
    return [`${file}:${next + 1}`];
  });
}
