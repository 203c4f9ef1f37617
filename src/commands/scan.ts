import { SEVERITY_RANK } from '../analyze/engine.js';
import type { FailOn } from '../config/load.js';
import { renderJson } from '../report/json.js';
import type { Report } from '../report/report.js';
import { renderSql } from '../report/sql.js';
import { renderText } from '../report/text.js';
import { emit } from './output.js';
import { runScan, type ScanInput } from './run-scan.js';

export const SCAN_FORMATS = ['text', 'json', 'sql'] as const;
export type ScanFormat = (typeof SCAN_FORMATS)[number];
export const FAIL_ON_LEVELS: readonly FailOn[] = ['critical', 'warning', 'info', 'none'];

export interface ScanOptions extends ScanInput {
  readonly format: ScanFormat;
  readonly output?: string;
  readonly failOn?: FailOn;
  readonly color: boolean;
}

/** `perfaudit scan`: collect (or read a snapshot file), analyze, render; exit 1 on findings at or above --fail-on. */
export async function scanCommand(options: ScanOptions): Promise<number> {
  const { report, failOn } = await runScan(options);
  await emit(render(report, options), options.output);
  return exitCode(report, options.failOn ?? failOn ?? 'warning');
}

export function render(report: Report, options: { format: ScanFormat; output?: string; color: boolean }): string {
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
