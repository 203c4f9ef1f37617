import { createHash } from 'node:crypto';
import type { Config, IgnoreEntry } from '../config/load.js';
import { UsageError } from '../errors.js';
import { basename } from 'node:path';
import { isMigrationRule, type AnyRule, type Finding, type FindingDraft, type Migration, type RuleDefinition, type Severity, type Snapshot, type Target } from '../rule.js';

export interface Selection {
  /** Only these rule ids (`--rules`). */
  readonly only?: readonly string[];
  /** Not these rule ids (`--exclude-rules`). */
  readonly exclude?: readonly string[];
  /** Only findings in these schemas (`--schema`). */
  readonly schemas?: readonly string[];
}

export interface Skipped {
  readonly rule: string;
  readonly reason: string;
}

export interface Analysis {
  readonly findings: readonly Finding[];
  readonly skipped: readonly Skipped[];
}

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { critical: 3, warning: 2, info: 1 };

/**
 * Runs the selected rules over a snapshot with the configuration applied: options,
 * severity overrides, ignores and the schema filter. A rule whose requirements the
 * server lacks, or that cannot judge this snapshot, is listed as skipped with the reason;
 * one that could judge only part of it (the role may not see the rest) is listed too,
 * its reason starting with "partly: ".
 */
export function analyze(snapshot: Snapshot, rules: readonly AnyRule[], config: Config, selection: Selection = {}): Analysis {
  checkSelection(rules, selection);
  const findings: Finding[] = [];
  const skipped: Skipped[] = [];
  for (const rule of selectedRules(rules, config, selection)) {
    const settings = config.rules[rule.id];
    const options = { ...rule.options, ...settings?.options };
    const reason = missingRequirement(snapshot, rule) ?? rule.skipReason?.(snapshot, options) ?? null;
    if (reason) {
      skipped.push({ rule: rule.id, reason });
      continue;
    }
    for (const draft of rule.check(snapshot, options)) {
      const finding = toFinding(rule, draft, settings?.severity);
      if (inSchemas(finding.target, selection.schemas) && !isIgnored(finding, config.ignore)) findings.push(finding);
    }
    const gap = rule.coverageGap?.(snapshot, options) ?? null;
    if (gap) skipped.push({ rule: rule.id, reason: `partly: ${gap}` });
  }
  return { findings: findings.sort(byImportance), skipped };
}

/**
/**
 * Runs the selected migration rules over one applied migration file, with the
 * configuration applied as for `analyze`. Findings carry the file and line; their
 * fingerprint names the file but never the line, so edits above a finding keep it.
 */
export function lintMigration(migration: Migration, rules: readonly AnyRule[], config: Config, selection: Selection = {}): Finding[] {
  const findings: Finding[] = [];
  for (const rule of rules.filter(isMigrationRule).filter((r) => isRuleOn(r, config, selection))) {
    const settings = config.rules[rule.id];
    for (const { line, ...draft } of rule.checkMigration(migration, { ...rule.options, ...settings?.options })) {
      const finding = {
        ...toFinding(rule, draft, settings?.severity),
        location: { file: migration.file, line },
        fingerprint: fingerprint(rule.id, draft.target, basename(migration.file)),
      };
      if (inSchemas(finding.target, selection.schemas) && !isIgnored(finding, config.ignore)) findings.push(finding);
    }
  }
  return findings;
}

/**
 * The snapshot rules that `--rules`, `--exclude-rules` and `enabled: false` leave on.
 * Those not skipped for a missing requirement are the rules a scan checked.
 */
export function selectedRules(rules: readonly AnyRule[], config: Config, selection: Selection): RuleDefinition[] {
  return rules.filter((rule): rule is RuleDefinition => !isMigrationRule(rule) && isRuleOn(rule, config, selection));
}

/** Whether `--rules`, `--exclude-rules` and `enabled: false` leave the rule on. */
export function isRuleOn(rule: AnyRule, config: Config, selection: Selection): boolean {
  return (!selection.only || selection.only.includes(rule.id))
    && !selection.exclude?.includes(rule.id)
    && config.rules[rule.id]?.enabled !== false;
}

/** Rejects unknown rule ids in `--rules` / `--exclude-rules`, before any work is done. */
export function checkSelection(rules: readonly AnyRule[], selection: Selection): void {
  const known = new Set(rules.map((rule) => rule.id));
  for (const id of [...(selection.only ?? []), ...(selection.exclude ?? [])]) {
    if (!known.has(id)) throw new UsageError(`unknown rule "${id}" (see perfaudit rules)`);
  }
}

// Extensions that work only when loaded at server start.
const PRELOADED = new Set(['pg_stat_statements']);

function missingRequirement(snapshot: Snapshot, rule: RuleDefinition): string | null {
  const name = rule.requires.find((required) => !snapshot.server.extensions.some((extension) => extension.name === required));
  if (name === undefined) return null;
  const install = `${name} is not installed in database ${snapshot.server.database}: `;
  if (!PRELOADED.has(name)) return `${install}run CREATE EXTENSION ${name};`;
  // Superuser-only: without pg_read_all_settings the setting is not in the snapshot at all.
  const preloaded = snapshot.server.settings.shared_preload_libraries;
  if (preloaded === undefined) {
    return `${install}run CREATE EXTENSION ${name}; (it must be in shared_preload_libraries too, which role ${snapshot.server.currentUser} may not read without pg_read_all_settings)`;
  }
  const loaded = preloaded.split(',').map((lib) => lib.trim());
  return loaded.includes(name)
    ? `${install}run CREATE EXTENSION ${name};`
    : `${install}add ${name} to shared_preload_libraries in postgresql.conf, restart the server, then run CREATE EXTENSION ${name};`;
}

function toFinding(rule: AnyRule, draft: FindingDraft, override: Severity | undefined): Finding {
  return {
    rule: rule.id,
    severity: override ?? draft.severity ?? rule.severity,
    title: rule.title,
    message: draft.message,
    target: draft.target,
    evidence: draft.evidence,
    actions: draft.actions,
    fingerprint: fingerprint(rule.id, draft.target),
  };
}

/**
 * A finding's stable identity: a hash of the rule and the object's names, never oids or
 * measured values, so it survives restores and changing statistics.
 */
export function fingerprint(rule: string, target: Target, file?: string): string {
  const identity = [rule, target.kind, target.schema, target.table, target.name, target.columns, target.query, ...(file === undefined ? [] : [file])];
  return createHash('sha1').update(JSON.stringify(identity)).digest('hex');
}

function inSchemas(target: Target, schemas: readonly string[] | undefined): boolean {
  return !schemas?.length || target.schema === null || schemas.includes(target.schema);
}

function isIgnored(finding: Finding, ignores: readonly IgnoreEntry[]): boolean {
  const { schema, table, name } = finding.target;
  return ignores.some((entry) =>
    (entry.rule === undefined || entry.rule === finding.rule)
    && (entry.table === undefined || globMatches(entry.table, `${schema}.${table}`))
    && (entry.index === undefined || globMatches(entry.index, `${schema}.${name}`)));
}

/** `*` matches any run of characters, `?` one; everything else literally. */
export function globMatches(glob: string, text: string): boolean {
  const pattern = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${pattern}$`).test(text);
}

function byImportance(a: Finding, b: Finding): number {
  return SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]
    || a.rule.localeCompare(b.rule)
    || `${a.target.schema}.${a.target.table}.${a.target.name}`.localeCompare(`${b.target.schema}.${b.target.table}.${b.target.name}`);
}
