import type { AnyRule, Finding, Severity, Target } from '../rule.js';
import { messageWithFixes, objectName, repoPath, shorten } from './describe.js';
import type { Report } from './report.js';

const LEVELS: Readonly<Record<Severity, 'error' | 'warning' | 'note'>> = { critical: 'error', warning: 'warning', info: 'note' };

/**
 * The report as a SARIF 2.1.0 log for code-scanning tools: the whole rule catalogue with
 * each rule's runbook as help, and one result per finding, fingerprinted by the finding's
 * stable fingerprint. Database objects are logical locations (`app.tasks.tasks_project_id_fkey`);
 * migration findings also get the file and line as a physical location, which GitHub code
 * scanning needs to show a result. Fix SQL is in the message text and in
 * `properties.fixes`: SARIF's own `fixes` describe file edits, not statements to run.
 */
export function renderSarif(report: Report, rules: readonly AnyRule[]): string {
  const ruleIndex = new Map(rules.map((rule, index) => [rule.id, index]));
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'perfaudit', version: report.tool.version, semanticVersion: report.tool.version, rules: rules.map(descriptor) } },
      results: report.findings.map((finding) => result(finding, ruleIndex.get(finding.rule), report)),
      ...(report.baseline && { properties: { baseline: report.baseline } }),
    }],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

function descriptor(rule: AnyRule) {
  const docs = rule.docs.trim();
  return {
    id: rule.id,
    name: rule.id.replace(/(?:^|-)([a-z0-9])/g, (_match: string, letter: string) => letter.toUpperCase()),
    shortDescription: { text: rule.title },
    fullDescription: { text: firstParagraph(docs) || rule.title },
    help: { text: docs, markdown: docs },
    defaultConfiguration: { level: LEVELS[rule.severity] },
    properties: { tags: ['postgresql', rule.category] },
  };
}

function result(finding: Finding, ruleIndex: number | undefined, report: Report) {
  const { location } = finding;
  const physical = location && {
    physicalLocation: { artifactLocation: { uri: artifactUri(location.file) }, region: { startLine: location.line } },
  };
  return {
    ruleId: finding.rule,
    ...(ruleIndex !== undefined && { ruleIndex }),
    level: LEVELS[finding.severity],
    message: { text: messageWithFixes(finding) },
    locations: [{ ...physical, logicalLocations: [logicalLocation(finding.target, report.database.name)] }],
    partialFingerprints: { primaryLocationLineHash: finding.fingerprint },
    ...(report.baseline && { baselineState: 'new' }),
    properties: {
      severity: finding.severity,
      target: finding.target,
      evidence: finding.evidence,
      fixes: finding.actions.map((action) => action.sql),
    },
  };
}

/** The object a finding is about: its own name, its dotted path (the query text for a query). */
function logicalLocation(target: Target, database: string) {
  const parts = [target.schema, target.table, target.name].filter((part): part is string => part !== null);
  if (target.kind === 'query' && target.query) return { name: shorten(target.query, 80), fullyQualifiedName: target.query, kind: target.kind };
  return { name: parts.at(-1) ?? database, fullyQualifiedName: parts.length ? objectName(target) : database, kind: target.kind };
}

/** A repository-relative URI: forward slashes, each path segment percent-encoded. */
export function artifactUri(file: string): string {
  return repoPath(file).split('/').map(encodeURIComponent).join('/');
}

function firstParagraph(markdown: string): string {
  const prose = markdown.split('\n').filter((line) => !line.startsWith('#')).join('\n');
  return prose.split(/\n\s*\n/).map((paragraph) => paragraph.replace(/\s+/g, ' ').trim()).find(Boolean) ?? '';
}
