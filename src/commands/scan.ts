import { SEVERITY_RANK } from '../analyze/engine.js';
import { loadRules } from '../analyze/registry.js';
import type { FailOn } from '../config/load.js';
import { readBaseline } from '../report/baseline-file.js';
import { REPORT_FORMATS, renderReport, type ReportFormat } from '../report/render.js';
import { withBaseline, type Report } from '../report/report.js';
import { emit } from './output.js';
import { runScan, type ScanInput } from './run-scan.js';

export const SCAN_FORMATS = REPORT_FORMATS;
export type ScanFormat = ReportFormat;
export const FAIL_ON_LEVELS: readonly FailOn[] = ['critical', 'warning', 'info', 'none'];

export interface ScanOptions extends ScanInput {
  readonly format: ScanFormat;
  readonly output?: string;
  readonly failOn?: FailOn;
  /** Report only findings this baseline file does not know; --fail-on counts those alone. */
  readonly baseline?: string;
  readonly color: boolean;
}

/** `perfaudit scan`: collect (or read a snapshot file), analyze, render; exit 1 on findings at or above --fail-on. */
export async function scanCommand(options: ScanOptions): Promise<number> {
  // Read first: a broken baseline should fail before a connection is made.
  const baseline = options.baseline === undefined ? undefined : await readBaseline(options.baseline);
  const scan = await runScan(options);
  const report = baseline ? withBaseline(scan.report, baseline, { rules: scan.checked, schemas: options.schema }) : scan.report;
  const text = renderReport(report, options.format, { color: options.color && !options.output, rules: await loadRules() });
  await emit(text, options.output);
  return exitCode(report, options.failOn ?? scan.failOn ?? 'warning');
}

/** 1 when a finding is at or above the threshold, else 0. */
export function exitCode(report: Report, failOn: FailOn): number {
  if (failOn === 'none') return 0;
  return report.findings.some((finding) => SEVERITY_RANK[finding.severity] >= SEVERITY_RANK[failOn]) ? 1 : 0;
}
