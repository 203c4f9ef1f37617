import type { Finding, Severity } from '../rule.js';
import { entryLabel, objectName, plural } from './describe.js';
import { codeBlock, codeSpan, escapeMarkdown, tableCell } from './markdown-text.js';
import type { Report } from './report.js';
import { formatValue } from './text.js';

/** GitHub refuses a pull-request comment longer than this many characters. */
export const GITHUB_COMMENT_LIMIT = 65_536;

// Stale entries come before the findings: a long list must not push them past the cap.
const STALE_SHOWN = 20;
const SEVERITIES: readonly Severity[] = ['critical', 'warning', 'info'];
const HEADINGS: Readonly<Record<Severity, string>> = { critical: 'Critical', warning: 'Warning', info: 'Info' };

/**
 * The report as GitHub markdown, for a pull-request comment or `$GITHUB_STEP_SUMMARY`:
 * a title, a summary table, then the findings by severity with their fix SQL. Every
 * name is escaped or fenced. Findings that would take the text past `maxChars` (GitHub's
 * comment limit by default) are left out, and the last line says how many.
 */
export function renderMarkdown(report: Report, options: { maxChars?: number } = {}): string {
  const maxChars = options.maxChars ?? GITHUB_COMMENT_LIMIT;
  const head = [title(report), summaryTable(report), ...skippedList(report), ...staleList(report)].join('\n\n');
  const blocks = SEVERITIES.flatMap((severity) => {
    const findings = report.findings.filter((finding) => finding.severity === severity);
    return findings.map((finding, index) => (index === 0 ? `### ${HEADINGS[severity]} (${findings.length})\n\n` : '') + findingBlock(finding));
  });
  if (blocks.length === 0) return `${head}\n\n${report.baseline ? 'No new findings.' : 'No findings.'}\n`;
  let text = head;
  for (const [shown, block] of blocks.entries()) {
    const footer = omitted(blocks.length - shown - 1, maxChars);
    if (`${text}\n\n${block}\n\n${footer}\n`.length > maxChars) return `${text}\n\n${omitted(blocks.length - shown, maxChars)}\n`;
    text += `\n\n${block}`;
  }
  return `${text}\n`;
}

function title(report: Report): string {
  const { critical, warning, info } = report.summary;
  const counts = `${critical} critical, ${warning} warning, ${info} info`;
  return [
    `## perfaudit: ${report.baseline ? `new findings: ${counts}` : counts}`,
    '',
    `${subject(report)} · PostgreSQL ${escapeMarkdown(report.database.serverVersion)} · perfaudit ${escapeMarkdown(report.tool.version)}`,
  ].join('\n');
}

/** What was audited: a database, or the migrations check-migrations applied to a scratch one. */
function subject(report: Report): string {
  const { migrations } = report;
  if (!migrations) return `Database ${codeSpan(report.database.name)}`;
  const files = migrations.checked.map((file) => codeSpan(file)).join(', ');
  return `Migrations checked: ${migrations.checked.length ? files : 'none'}${migrations.deployed ? ` (after ${migrations.deployed} deployed)` : ''}`;
}

function summaryTable(report: Report): string {
  const rows: [string, number][] = SEVERITIES.map((severity) => [HEADINGS[severity], report.summary[severity]]);
  const { baseline } = report;
  if (baseline) {
    rows.push([`Known, suppressed by baseline ${codeSpan(baseline.file)}`, baseline.suppressed], ['Stale baseline entries', baseline.stale.length]);
    if (baseline.unchecked) rows.push(['Baseline entries not checked (rule not run or out of scope)', baseline.unchecked]);
  }
  if (report.skipped.length) rows.push(['Skipped rules', report.skipped.length]);
  return ['| Findings | Count |', '| --- | ---: |', ...rows.map(([label, count]) => `| ${tableCell(label)} | ${count.toLocaleString('en-US')} |`)].join('\n');
}

function skippedList(report: Report): string[] {
  if (!report.skipped.length) return [];
  return [['**Skipped rules**', '', ...report.skipped.map((skip) => `- ${codeSpan(skip.rule)}: ${escapeMarkdown(skip.reason)}`)].join('\n')];
}

function staleList(report: Report): string[] {
  const stale = report.baseline?.stale ?? [];
  if (!stale.length) return [];
  const lines = stale.slice(0, STALE_SHOWN).map((entry) => `- ${codeSpan(entryLabel(entry))}`);
  if (stale.length > STALE_SHOWN) lines.push(`- and ${plural(stale.length - STALE_SHOWN, 'more', 'more')} (the json report lists them all)`);
  return [['**Stale baseline entries** (no longer found; re-run `perfaudit baseline` to prune)', '', ...lines].join('\n')];
}

function findingBlock(finding: Finding): string {
  const { target, location } = finding;
  const columns = target.columns.length ? ` (${target.columns.map(codeSpan).join(', ')})` : '';
  const facts = [`- Object: ${codeSpan(objectName(target))}${columns}`];
  if (target.query) facts.push(`- Query: ${codeSpan(target.query)}`);
  if (location) facts.push(`- Location: ${codeSpan(location.file)} line ${location.line}`);
  const evidence = Object.entries(finding.evidence).map(([key, value]) => `${escapeMarkdown(key)} ${escapeMarkdown(formatValue(value))}`);
  if (evidence.length) facts.push(`- Evidence: ${evidence.join(' · ')}`);
  const parts = [`#### ${escapeMarkdown(finding.title)} · ${codeSpan(finding.rule)}`, escapeMarkdown(finding.message), facts.join('\n')];
  if (finding.actions.length) parts.push(codeBlock(finding.actions.map((action) => action.sql).join('\n\n'), 'sql'));
  return parts.join('\n\n');
}

function omitted(count: number, maxChars: number): string {
  if (count === 0) return '';
  return `_${plural(count, 'more finding', 'more findings')} not shown: the output is capped at ${maxChars.toLocaleString('en-US')} characters to fit a GitHub comment. The text or json report has them all._`;
}
