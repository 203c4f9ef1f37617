import { isAbsolute, relative, sep } from 'node:path';
import type { Finding, Target } from '../rule.js';
import type { BaselineEntry, BaselineSummary } from './baseline.js';

/**
 * A finding's object as one readable dotted name by raw names, e.g.
 * `app.tasks.tasks_project_id_fkey`; the target kind (`query`, `database`) when it names none.
 * For people only: a name may itself contain dots, so this is never an identity.
 */
export function objectName(target: Target): string {
  const parts = [target.schema, target.table, target.name].filter((part): part is string => part !== null);
  return parts.length ? parts.join('.') : target.kind;
}

/**
 * A file as a repository-relative path with forward slashes, as CI annotations want it:
 * relative paths are kept, absolute ones made relative to the working directory.
 */
export function repoPath(file: string, cwd = process.cwd()): string {
  const path = isAbsolute(file) ? relative(cwd, file) : file;
  return path.split(sep).join('/').replace(/^\.\//, '');
}

/**
 * One line on what a baseline left out, e.g. "12 known findings suppressed by baseline
 * perfaudit-baseline.json; 2 stale entries — re-run perfaudit baseline to prune".
 */
export function baselineSentence(baseline: BaselineSummary): string {
  const stale = baseline.stale.length
    ? `; ${plural(baseline.stale.length, 'stale entry', 'stale entries')} — re-run perfaudit baseline to prune`
    : '; no stale entries';
  const unchecked = baseline.unchecked ? `; ${plural(baseline.unchecked, 'entry', 'entries')} not checked by this run (rule not run or out of scope)` : '';
  return `${plural(baseline.suppressed, 'known finding', 'known findings')} suppressed by baseline ${baseline.file}${stale}${unchecked}`;
}

/** A baseline entry for people: rule, object, columns, file. */
export function entryLabel(entry: BaselineEntry): string {
  const columns = entry.columns?.length ? ` (${entry.columns.join(', ')})` : '';
  const file = entry.file ? ` in ${entry.file}` : '';
  const object = entry.query ? `${entry.object} "${shorten(entry.query, 60)}"` : entry.object;
  return `${entry.rule} ${object}${columns}${file}`;
}

export function plural(count: number, one: string, many: string): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
}

/** Text on one line, cut to `max` characters with an ellipsis. */
export function shorten(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** A finding's message followed by its fix statements, one `Fix: …` (or `Manual step: …`) line each. */
export function messageWithFixes(finding: Finding): string {
  const fixes = finding.actions.map((action) => `${action.kind === 'manual' ? 'Manual step' : 'Fix'}: ${action.sql}`);
  return [finding.message, ...fixes].join('\n');
}
