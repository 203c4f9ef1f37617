import { verifyFindings } from '../advisor/verify.js';
import { analyze, checkSelection, selectedRules, type Analysis, type Selection } from '../analyze/engine.js';
import { loadRules } from '../analyze/registry.js';
import { readSnapshot } from '../collect/snapshot-file.js';
import { withExactBloat } from '../collect/exact-bloat.js';
import { lockedSkips } from '../collect/locks.js';
import { parseDuration } from '../collect/sample.js';
import type { Snapshot } from '../collect/snapshot.js';
import { loadConfig, type Config, type FailOn } from '../config/load.js';
import { UsageError } from '../errors.js';
import { buildReport, type Report } from '../report/report.js';
import type { AnyRule } from '../rule.js';
import { idList } from './output.js';
import { collectWithSession, withScanSession } from './source.js';

/** What `scan` and `plan` share: where to read, which rules, how. */
export interface ScanInput {
  readonly dbname?: string;
  readonly config?: string;
  readonly rules?: string[];
  readonly excludeRules?: string[];
  readonly schema?: string[];
  readonly snapshot?: string;
  /** `--sample 60s`: analyse the change over this window instead of the totals. */
  readonly sample?: string;
  /** `--exact`: measure bloat with pgstattuple (when installed) instead of estimating it. */
  readonly exact?: boolean;
}

/** A scan's outcome: the report, the configured --fail-on, and the ids of the rules that ran (not skipped). */
export interface ScanResult {
  readonly report: Report;
  readonly failOn: FailOn | undefined;
  readonly checked: readonly string[];
}

/**
 * Collects (or reads a snapshot file), analyzes, and on a live database checks the
 * proposals against the planner.
 */
export async function runScan(options: ScanInput): Promise<ScanResult> {
  const rules = await loadRules();
  const config = loadConfig(options.config, rules);
  const selection = { only: idList(options.rules), exclude: idList(options.excludeRules), schemas: options.schema };
  checkSelection(rules, selection);
  const sampleMs = options.sample === undefined ? undefined : parseDuration(options.sample);
  if (sampleMs !== undefined && options.snapshot) throw new UsageError('--sample needs a live database, not --snapshot');
  if (options.exact && options.snapshot) throw new UsageError('--exact needs a live database, not --snapshot');
  const startedAt = new Date();
  const { snapshot, analysis } = options.snapshot
    ? analyzeOffline(await readSnapshot(options.snapshot), rules, config, selection)
    : await withScanSession(options.dbname, async (session, spinner) => {
      let { snapshot: collected } = await collectWithSession(session, spinner, sampleMs);
      if (options.exact) {
        spinner.update('measuring bloat with pgstattuple');
        collected = await withExactBloat(session, collected, ruleOption(rules, config, 'table-bloat', 'minTableBytes'), ruleOption(rules, config, 'index-bloat', 'minIndexBytes'));
      }
      const found = analyze(collected, rules, config, selection);
      spinner.update('checking proposals against the planner');
      const minCostReduction = ruleOption(rules, config, 'missing-index', 'minCostReduction');
      const findings = await verifyFindings(session, collected, found.findings, { minCostReduction });
      return { snapshot: collected, analysis: { ...found, findings } };
    });
  const selected = selectedRules(rules, config, selection);
  const locked = lockedSkips(snapshot).filter((skip) => skip.rule === '*' || selected.some((rule) => rule.id === skip.rule));
  const skipped = [...analysis.skipped, ...locked];
  const report = buildReport(snapshot, { ...analysis, skipped }, { startedAt, durationMs: Date.now() - startedAt.getTime() });
  // A table left out for a lock hides the findings of every rule: nothing can be called stale.
  const unchecked = new Set(skipped.map((skip) => skip.rule));
  const checked = unchecked.has('*') ? [] : selected.map((rule) => rule.id).filter((id) => !unchecked.has(id));
  return { report, failOn: config.failOn, checked };
}

/** A numeric rule option as configured, else the rule's default (0 when neither exists). */
function ruleOption(rules: readonly AnyRule[], config: Config, rule: string, option: string): number {
  return Number(config.rules[rule]?.options[option] ?? rules.find((r) => r.id === rule)?.options[option] ?? 0);
}

function analyzeOffline(snapshot: Snapshot, rules: readonly AnyRule[], config: Config, selection: Selection): { snapshot: Snapshot; analysis: Analysis } {
  return { snapshot, analysis: analyze(snapshot, rules, config, selection) };
}

