import { analyze, checkSelection, isRuleOn, lintMigration, type Selection } from '../analyze/engine.js';
import { loadRules } from '../analyze/registry.js';
import type { Snapshot } from '../collect/snapshot.js';
import { loadConfig, type Config, type FailOn } from '../config/load.js';
import { collectFromDatabase } from '../commands/source.js';
import { withClient } from '../embedded/server.js';
import { UsageError } from '../errors.js';
import { buildReport, type Report } from '../report/report.js';
import { isMigrationRule, type AnyRule, type Finding } from '../rule.js';
import { applyDeployed, applyNew, type Runner } from './apply.js';
import { isSameMigration, readMigrations, type MigrationSource } from './files.js';
import { locate } from './locate.js';
import { scratchDatabase } from './scratch.js';
import { suppressions } from './suppress.js';

export interface CheckMigrationsInput {
  readonly paths: readonly string[];
  /** The last migration already deployed: it and those before it are applied, not gated. */
  readonly since?: string;
  /** A server (postgres:// URL) to create the scratch database on instead of an embedded one. */
  readonly server?: string;
  readonly config?: string;
  readonly rules?: readonly string[];
  readonly excludeRules?: readonly string[];
}

// The snapshot rules that judge a schema on its own: on the empty database a check
// builds, statistics-based rules (bloat, usage, workload) have nothing to judge.
const SCHEMA_RULES = ['missing-fk-index', 'duplicate-index', 'redundant-index', 'missing-primary-key', 'invalid-index'];

/**
 * Applies migrations to a throw-away embedded PostgreSQL and reports what the new ones
 * introduce: lock hazards of their statements (migration rules) and schema problems
 * (SCHEMA_RULES) that were not there before them, each at its file and line.
 */
/** A check's report, with what a baseline needs to know of its scope. */
export interface MigrationCheck {
  readonly report: Report;
  readonly failOn: FailOn | undefined;
  /** The rules that ran. */
  readonly checked: readonly string[];
  /** The new migration files: the ones checked. */
  readonly files: readonly string[];
  readonly rules: readonly AnyRule[];
}

export async function checkMigrations(input: CheckMigrationsInput): Promise<MigrationCheck> {
  const rules = await loadRules();
  const config = loadConfig(input.config, rules);
  const selection: Selection = { only: input.rules, exclude: input.excludeRules };
  checkSelection(rules, selection);
  const sources = await readMigrations(input.paths);
  if (sources.length === 0) throw new UsageError(`no .sql migration files in ${input.paths.join(', ')}`);
  const { deployed, fresh } = splitAt(sources, input.since);
  const unsuppressed = suppressions(fresh, rules);
  const startedAt = new Date();
  const scratch = await scratchDatabase(input.server);
  try {
    const judge = () => schemaFindings(scratch.url, rules, config, selection);
    const { applied, final, introduced } = await withClient(scratch.url, (client) =>
      applyAndJudge({ client, createMissingRoles: scratch.embedded }, deployed, fresh, judge));
    const findings = [
      ...final.findings.flatMap((finding) => {
        const file = introduced.get(finding.fingerprint);
        return file === undefined ? [] : [{ ...finding, location: locate(finding, applied, file) }];
      }),
      ...applied.migrations.flatMap((migration) => lintMigration(migration, rules, config, selection)),
    ].filter(unsuppressed).sort(byLocation(fresh));
    const report = {
      ...buildReport(final.snapshot, { findings, skipped: [] }, { startedAt, durationMs: Date.now() - startedAt.getTime() }),
      migrations: { checked: fresh.map((source) => source.file), deployed: deployed.length },
    };
    const checked = rules
      .filter((rule) => (isMigrationRule(rule) || SCHEMA_RULES.includes(rule.id)) && isRuleOn(rule, config, selection))
      .map((rule) => rule.id);
    return { report, failOn: config.failOn, checked, files: fresh.map((source) => source.file), rules };
  } finally {
    await scratch.dispose();
  }
}

interface Judged {
  readonly snapshot: Snapshot;
  readonly findings: readonly Finding[];
}

/**
 * Applies the deployed migrations, then the new ones, judging the schema after each new
 * file: a finding is introduced by the first file after which it appears (a finding the
 * deployed schema already had is nobody's), and reported if still there at the end.
 */
async function applyAndJudge(runner: Runner, deployed: readonly MigrationSource[], fresh: readonly MigrationSource[], judge: () => Promise<Judged>) {
  await applyDeployed(runner, deployed);
  let final = await judge();
  const known = new Set(final.findings.map((finding) => finding.fingerprint));
  const introduced = new Map<string, string>();
  const applied = await applyNew(runner, fresh, async (source) => {
    final = await judge();
    for (const { fingerprint } of final.findings) {
      if (!known.has(fingerprint) && !introduced.has(fingerprint)) introduced.set(fingerprint, source.file);
    }
  });
  return { applied, final, introduced };
}

function splitAt(sources: readonly MigrationSource[], since: string | undefined): { deployed: MigrationSource[]; fresh: MigrationSource[] } {
  if (since === undefined) return { deployed: [], fresh: [...sources] };
  const index = sources.findIndex((source) => isSameMigration(source.file, since));
  if (index < 0) throw new UsageError(`--since ${since}: not one of the migration files`);
  return { deployed: sources.slice(0, index + 1), fresh: sources.slice(index + 1) };
}

/**
 * The schema rules' findings, at each rule's own severity: a check database holds no
 * data, so the size-based ranking of a live scan does not apply.
 */
async function schemaFindings(url: string, rules: readonly AnyRule[], config: Config, selection: Selection): Promise<Judged> {
  const { snapshot } = await collectFromDatabase(url);
  const only = SCHEMA_RULES.filter((id) => !selection.only || selection.only.includes(id));
  const analysis = analyze(snapshot, rules, config, { ...selection, only });
  const severity = (finding: Finding) => config.rules[finding.rule]?.severity ?? rules.find((rule) => rule.id === finding.rule)?.severity ?? finding.severity;
  return { snapshot, findings: analysis.findings.map((finding) => ({ ...finding, severity: severity(finding) })) };
}

/** In migration order, then by line; findings without a location last. */
function byLocation(sources: readonly MigrationSource[]): (a: Finding, b: Finding) => number {
  const order = new Map(sources.map((source, index) => [source.file, index]));
  const position = (finding: Finding) => finding.location
    ? (order.get(finding.location.file) ?? 0) * 1e9 + finding.location.line
    : Number.MAX_SAFE_INTEGER;
  return (a, b) => position(a) - position(b) || a.rule.localeCompare(b.rule);
}

