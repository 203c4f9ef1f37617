import { verifyFindings } from '../advisor/verify.js';
import { analyze, checkSelection, SEVERITY_RANK, type Analysis, type Selection } from '../analyze/engine.js';
import { loadRules } from '../analyze/registry.js';
import { readSnapshot } from '../collect/collect.js';
import { withExactBloat } from '../collect/exact-bloat.js';
import { parseDuration } from '../collect/sample.js';
import type { Snapshot } from '../collect/snapshot.js';
import { loadConfig, type Config, type FailOn } from '../config/load.js';
import type { RuleDefinition } from '../rule.js';
import { UsageError } from '../errors.js';
import { renderJson } from '../report/json.js';
import { buildReport, type Report } from '../report/report.js';
import { renderSql } from '../report/sql.js';
import { renderText } from '../report/text.js';
import { emit, idList } from './output.js';
import { collectWithSession, withScanSession } from './source.js';

export const SCAN_FORMATS = ['text', 'json', 'sql'] as const;
export type ScanFormat = (typeof SCAN_FORMATS)[number];
export const FAIL_ON_LEVELS: readonly FailOn[] = ['critical', 'warning', 'info', 'none'];

export interface ScanOptions {
  readonly dbname?: string;
  readonly format: ScanFormat;
  readonly output?: string;
  readonly config?: string;
  readonly rules?: string[];
  readonly excludeRules?: string[];
  readonly schema?: string[];
  readonly failOn?: FailOn;
  readonly snapshot?: string;
  /** `--sample 60s`: analyse the change over this window instead of the totals. */
  readonly sample?: string;
  /** `--exact`: measure bloat with pgstattuple (when installed) instead of estimating it. */
  readonly exact?: boolean;
  readonly color: boolean;
}

/** `perfaudit scan`: collect (or read a snapshot file), analyze, render; exit 1 on findings at or above --fail-on. */
export async function scanCommand(options: ScanOptions): Promise<number> {
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
      const minCostReduction = Number(config.rules['missing-index']?.options.minCostReduction ?? rules.find((rule) => rule.id === 'missing-index')?.options.minCostReduction ?? 0.3);
      const findings = await verifyFindings(session, collected, found.findings, { minCostReduction });
      return { snapshot: collected, analysis: { ...found, findings } };
    });
  const report = buildReport(snapshot, analysis, { startedAt, durationMs: Date.now() - startedAt.getTime() });
  await emit(render(report, options), options.output);
  return exitCode(report, options.failOn ?? config.failOn ?? 'warning');
}

/** A numeric rule option as configured, else the rule's default (0 when neither exists). */
function ruleOption(rules: readonly RuleDefinition[], config: Config, rule: string, option: string): number {
  return Number(config.rules[rule]?.options[option] ?? rules.find((r) => r.id === rule)?.options[option] ?? 0);
}

function analyzeOffline(snapshot: Snapshot, rules: readonly RuleDefinition[], config: Config, selection: Selection): { snapshot: Snapshot; analysis: Analysis } {
  return { snapshot, analysis: analyze(snapshot, rules, config, selection) };
}

function render(report: Report, options: ScanOptions): string {
  switch (options.format) {
    case 'json': return renderJson(report);
    case 'sql': return renderSql(report);
    case 'text': return renderText(report, { color: options.color && !options.output });
  }
}

/** 1 when a finding is at or above the threshold, else 0. */
export function exitCode(report: Report, failOn: FailOn): number {
  if (failOn === 'none') return 0;
  return report.findings.some((finding) => SEVERITY_RANK[finding.severity] >= SEVERITY_RANK[failOn]) ? 1 : 0;
}

export function parseChoice<T extends string>(value: string, allowed: readonly T[], option: string): T {
  const choice = allowed.find((candidate) => candidate === value);
  if (!choice) throw new UsageError(`${option} must be one of ${allowed.join(', ')} (got "${value}")`);
  return choice;
}
