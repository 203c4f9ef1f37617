/**
 * The rule API. Rules import this module (and snapshot types and SQL helpers), never the
 * engine. A rule is metadata plus a pure `check(snapshot, options)`.
 */
import type { Snapshot } from './collect/snapshot.js';
import type { Migration } from './migrate/migration.js';

export type { Snapshot } from './collect/snapshot.js';
export type { Migration, MigrationStatement, MigrationTable } from './migrate/migration.js';

export type Severity = 'critical' | 'warning' | 'info';
export type Category = 'indexes' | 'queries' | 'maintenance' | 'schema' | 'migrations';
export type TargetKind = 'table' | 'index' | 'constraint' | 'sequence' | 'query' | 'database';
export type ActionKind = 'create-index' | 'drop-index' | 'reindex' | 'vacuum' | 'analyze' | 'alter-table' | 'manual';

/** The object a finding is about, by raw (unquoted) names. */
export interface Target {
  readonly kind: TargetKind;
  readonly schema: string | null;
  readonly table: string | null;
  /** Index, constraint or sequence name where there is one. */
  readonly name: string | null;
  readonly columns: readonly string[];
  readonly query: string | null;
}

/** One fix step: a single SQL statement, or a manual step explained in `sql` comments. */
export interface Action {
  readonly kind: ActionKind;
  readonly sql: string;
  /** Whether the statement may run inside a transaction block (CONCURRENTLY may not). */
  readonly transactional: boolean;
  /** The strongest lock the statement takes on the table, or null. */
  readonly lock: string | null;
  /** The statement that undoes this one, where there is one. */
  readonly undo?: string | undefined;
  /**
   * The index this step relies on staying (the kept twin of a duplicate, the index
   * that covers a redundant one). A plan that also drops that index leaves this step out.
   */
  readonly dependsOn?: { readonly schema: string; readonly name: string } | undefined;
}

export type Evidence = Readonly<Record<string, number | string | boolean | null>>;

/** What a rule's check returns for each problem; the engine adds rule id, title and fingerprint. */
export interface FindingDraft {
  /** Overrides the rule's default severity for this finding (ranking). */
  readonly severity?: Severity;
  readonly message: string;
  readonly target: Target;
  readonly evidence: Evidence;
  readonly actions: readonly Action[];
}

/** What a migration rule returns: a finding at a statement of the migration. */
export interface MigrationFindingDraft extends FindingDraft {
  /** 1-based line of the statement in the migration file. */
  readonly line: number;
}

export interface Finding extends FindingDraft {
  readonly rule: string;
  readonly severity: Severity;
  readonly title: string;
  readonly fingerprint: string;
  /** Where a migration finding is: the migration file and the statement's line. */
  readonly location?: { readonly file: string; readonly line: number } | undefined;
}

export type RuleOptions = Readonly<Record<string, number | string | boolean>>;

interface RuleMeta<O extends RuleOptions> {
  /** Kebab-case, stable forever. */
  readonly id: string;
  readonly title: string;
  readonly severity: Severity;
  /** Extensions the rule needs on the server; missing ones make the engine skip it. */
  readonly requires: readonly string[];
  /** Typed defaults; `.perfaudit.yml` may override each by name. */
  readonly options: O;
  /** Runbook: what is wrong, why it hurts, how it is detected, the fix, the limits. */
  readonly docs: string;
}

/** A rule over the database snapshot (`scan`, and the schema a migration leaves). */
export interface RuleDefinition<O extends RuleOptions = RuleOptions> extends RuleMeta<O> {
  readonly category: Exclude<Category, 'migrations'>;
  /** Why the rule cannot judge this snapshot (e.g. statistics too young); null to run. */
  // Method syntax on purpose: it lets a rule with typed options stand in a list of rules.
  skipReason?(snapshot: Snapshot, options: O): string | null;
  /**
   * What the rule could not judge although it ran (objects the role may not see, with
   * the GRANT that shows them); null when it saw everything. Listed under skipped too.
   */
  coverageGap?(snapshot: Snapshot, options: O): string | null;
  check(snapshot: Snapshot, options: O): readonly FindingDraft[];
}

/** A rule over the statements of a migration file (`check-migrations`): lock hazards. */
export interface MigrationRuleDefinition<O extends RuleOptions = RuleOptions> extends RuleMeta<O> {
  readonly category: 'migrations';
  checkMigration(migration: Migration, options: O): readonly MigrationFindingDraft[];
}

export type AnyRule = RuleDefinition | MigrationRuleDefinition;

/** Declares a rule; the identity function that gives rule modules their types. */
export function defineRule<O extends RuleOptions>(rule: RuleDefinition<O>): RuleDefinition<O> {
  return rule;
}

/** Declares a migration rule. */
export function defineMigrationRule<O extends RuleOptions>(rule: MigrationRuleDefinition<O>): MigrationRuleDefinition<O> {
  return rule;
}

export function isMigrationRule(rule: AnyRule): rule is MigrationRuleDefinition {
  return rule.category === 'migrations';
}

/** A target with the fields a kind does not use set to null. */
export function target(kind: TargetKind, fields: Partial<Omit<Target, 'kind'>>): Target {
  return { kind, schema: null, table: null, name: null, columns: [], query: null, ...fields };
}
