import type { Finding, Severity } from '../rule.js';
import { baselineSentence, messageWithFixes, repoPath } from './describe.js';
import type { Report } from './report.js';

const COMMANDS: Readonly<Record<Severity, string>> = { critical: 'error', warning: 'warning', info: 'notice' };

/**
 * GitHub Actions workflow commands, one annotation per finding, e.g.
 * `::warning title=Foreign key without a supporting index (missing-fk-index)::app.tasks(project_id) …`;
 * with `file=` and `line=` when the finding has a location (migration findings).
 * Stale baseline entries get one notice.
 */
export function renderGithub(report: Report): string {
  const lines = report.findings.map(annotation);
  if (report.baseline?.stale.length) {
    lines.push(command('notice', { title: 'perfaudit baseline' }, baselineSentence(report.baseline)));
  }
  return lines.map((line) => `${line}\n`).join('');
}

function annotation(finding: Finding): string {
  const properties: Record<string, string> = {};
  if (finding.location) {
    properties.file = repoPath(finding.location.file);
    properties.line = String(finding.location.line);
  }
  properties.title = `${finding.title} (${finding.rule})`;
  return command(COMMANDS[finding.severity], properties, messageWithFixes(finding));
}

function command(name: string, properties: Readonly<Record<string, string>>, message: string): string {
  const list = Object.entries(properties).map(([key, value]) => `${key}=${escapeProperty(value)}`).join(',');
  return `::${name}${list ? ` ${list}` : ''}::${escapeData(message)}`;
}

/** The runner's escaping of a command's message. */
export function escapeData(text: string): string {
  return text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

/** The runner's escaping of a command property: the message's, plus the separators `:` and `,`. */
export function escapeProperty(text: string): string {
  return escapeData(text).replaceAll(':', '%3A').replaceAll(',', '%2C');
}
