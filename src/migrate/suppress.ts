import { UsageError } from '../errors.js';
import type { AnyRule, Finding } from '../rule.js';
import type { MigrationSource } from './files.js';

const MARKER = /^--\s*perfaudit-ignore\b(.*)$/;

/**
 * A filter that drops findings suppressed in the migration itself: a comment
 * `-- perfaudit-ignore RULE_ID[, RULE_ID…]` on the comment lines directly above the
 * statement. A marker naming an unknown rule is an error, so a typo never silently
 * suppresses nothing.
 */
export function suppressions(sources: readonly MigrationSource[], rules: readonly AnyRule[]): (finding: Finding) => boolean {
  const known = new Set(rules.map((rule) => rule.id));
  const lines = new Map(sources.map((source) => [source.file, source.sql.split('\n')]));
  for (const [file, text] of lines) {
    text.forEach((line, index) => {
      for (const id of markedRules(line)) {
        if (!known.has(id)) throw new UsageError(`${file}:${index + 1}: perfaudit-ignore names unknown rule "${id}"`);
      }
    });
  }
  return (finding) => {
    const text = finding.location && lines.get(finding.location.file);
    return !text || !ignoredAbove(text, finding.location?.line ?? 0).has(finding.rule);
  };
}

function markedRules(line: string): string[] {
  const ids = MARKER.exec(line.trim())?.[1] ?? '';
  return ids.split(/[\s,]+/).filter(Boolean);
}

/** The rule ids marked on the run of comment lines just above 1-based `line`. */
function ignoredAbove(text: readonly string[], line: number): Set<string> {
  const ids = new Set<string>();
  for (let index = line - 2; index >= 0 && (text[index] ?? '').trim().startsWith('--'); index--) {
    for (const id of markedRules(text[index] ?? '')) ids.add(id);
  }
  return ids;
}
