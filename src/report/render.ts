import type { AnyRule } from '../rule.js';
import { renderGithub } from './github.js';
import { renderJson } from './json.js';
import { renderMarkdown } from './markdown.js';
import type { Report } from './report.js';
import { renderSarif } from './sarif.js';
import { renderSql } from './sql.js';
import { renderText } from './text.js';

/** Every report format, for `--format` of scan, demo and check-migrations. */
export const REPORT_FORMATS = ['text', 'json', 'sql', 'markdown', 'sarif', 'github'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface RenderOptions {
  /** ANSI colours in text (a terminal, not a file). */
  readonly color: boolean;
  /** The rule catalogue, which SARIF lists in full. */
  readonly rules: readonly AnyRule[];
}

/** The one switch from a format name to its renderer. */
export function renderReport(report: Report, format: ReportFormat, options: RenderOptions): string {
  switch (format) {
    case 'text': return renderText(report, { color: options.color });
    case 'json': return renderJson(report);
    case 'sql': return renderSql(report);
    case 'markdown': return renderMarkdown(report);
    case 'sarif': return renderSarif(report, options.rules);
    case 'github': return renderGithub(report);
  }
}
