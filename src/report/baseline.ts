import type { Finding } from '../rule.js';
import { objectName, repoPath } from './describe.js';

/**
 * One known finding, by its stable fingerprint (rule + object identity, never a line,
 * an oid or a measured value). The other fields are there for whoever reviews the diff.
 */
export interface BaselineEntry {
  readonly rule: string;
  /** The object, e.g. `app.tasks.tasks_project_id_fkey`. */
  readonly object: string;
  /** The object's schema, so a scan limited by `--schema` knows which entries it checked. */
  readonly schema?: string;
  readonly columns?: readonly string[];
  /** The normalized statement of a query finding. */
  readonly query?: string;
  /** The migration file of a `check-migrations` finding (its line is not part of the identity). */
  readonly file?: string;
  readonly fingerprint: string;
}

/** A baseline file as read: where it came from and its entries. */
export interface Baseline {
  readonly file: string;
  readonly entries: readonly BaselineEntry[];
}

/**
 * What a run checked. An entry outside it (its rule did not run: not selected, disabled
 * or skipped for a missing extension; its schema or file was not looked at) is neither
 * found nor stale: nobody should be told to prune what was simply not checked.
 */
export interface BaselineScope {
  /** The rules that ran, skipped ones excluded. */
  readonly rules: readonly string[];
  /** `--schema`: only entries in these schemas (or in none) were checked. */
  readonly schemas?: readonly string[] | undefined;
  /** Only entries of these files (or of none) were checked, e.g. after `check-migrations --since`. */
  readonly files?: readonly string[] | undefined;
}

/** The `baseline` block of a report (an addition to the JSON contract). */
export interface BaselineSummary {
  readonly file: string;
  /** Findings left out of the report because the baseline knows them. */
  readonly suppressed: number;
  /** Entries this run checked and did not find: re-run `perfaudit baseline` to prune them. */
  readonly stale: readonly BaselineEntry[];
  /** Entries this run did not check (see BaselineScope). */
  readonly unchecked: number;
}

/** The entries of a list of findings: one per fingerprint, in a stable order. */
export function baselineEntries(findings: readonly Finding[]): BaselineEntry[] {
  const entries = new Map<string, BaselineEntry>();
  for (const finding of findings) entries.set(finding.fingerprint, toEntry(finding));
  return [...entries.values()].sort(byEntry);
}

/**
 * Splits findings into the new ones, which the caller reports and gates on, and the known
 * ones; lists the checked entries that no finding matches any more.
 */
export function applyBaseline(findings: readonly Finding[], baseline: Baseline, scope: BaselineScope): { findings: Finding[]; summary: BaselineSummary } {
  const known = new Set(baseline.entries.map((entry) => entry.fingerprint));
  const found = new Set(findings.map((finding) => finding.fingerprint));
  const fresh = findings.filter((finding) => !known.has(finding.fingerprint));
  const checked = baseline.entries.filter((entry) => isChecked(entry, scope));
  return {
    findings: fresh,
    summary: {
      file: baseline.file,
      suppressed: findings.length - fresh.length,
      stale: checked.filter((entry) => !found.has(entry.fingerprint)),
      unchecked: baseline.entries.length - checked.length,
    },
  };
}

function toEntry(finding: Finding): BaselineEntry {
  const { target, location } = finding;
  return {
    rule: finding.rule,
    object: objectName(target),
    ...(target.schema !== null && { schema: target.schema }),
    ...(target.columns.length > 0 && { columns: target.columns }),
    ...(target.query !== null && { query: target.query }),
    ...(location && { file: repoPath(location.file) }),
    fingerprint: finding.fingerprint,
  };
}

function isChecked(entry: BaselineEntry, scope: BaselineScope): boolean {
  return scope.rules.includes(entry.rule)
    && (!scope.schemas?.length || entry.schema === undefined || scope.schemas.includes(entry.schema))
    && (!scope.files || entry.file === undefined || scope.files.map((file) => repoPath(file)).includes(entry.file));
}

// Code-unit order, not localeCompare: the file must be byte-identical on every machine.
// NUL separates the fields: no PostgreSQL name or path contains it.
function byEntry(a: BaselineEntry, b: BaselineEntry): number {
  const key = (entry: BaselineEntry) => [entry.rule, entry.file ?? '', entry.object, entry.fingerprint].join('\0');
  const [left, right] = [key(a), key(b)];
  return left < right ? -1 : left > right ? 1 : 0;
}
