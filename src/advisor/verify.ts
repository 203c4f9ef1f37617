import type { Session } from '../connect/session.js';
import type { Snapshot } from '../collect/snapshot.js';
import type { Evidence, Finding } from '../rule.js';
import { isSkipped, verifyDrop, verifyIndex, type DropVerdict, type IndexVerdict } from './hypopg.js';

const DROP_RULES = new Set(['duplicate-index', 'redundant-index', 'unused-index']);
/** Statements whose plans a proposed drop is checked against: the costliest ones. */
const DROP_CHECK_STATEMENTS = 20;

export interface VerifyOptions {
  /** Keep a proposed index only if it cuts the statements' planned cost by this share. */
  readonly minCostReduction: number;
}

/**
 * Checks proposals against the planner when the database has hypopg: each proposed
 * index is created hypothetically and the statements it serves are planned before and
 * after (kept only when the cost falls by `minCostReduction`); each proposed drop is
 * tried by hiding the index, reporting which of the costliest statements' plans change.
 * Without hypopg, findings are returned unchanged (marked unverified by their rules).
 */
export async function verifyFindings(session: Session, snapshot: Snapshot, findings: readonly Finding[], options: VerifyOptions): Promise<Finding[]> {
  if (!snapshot.server.extensions.some((extension) => extension.name === 'hypopg')) return [...findings];
  const searchPath = snapshot.server.settings.search_path;
  const texts = new Map(snapshot.workload.statements.map((statement) => [statement.queryId, statement.query]));
  const costliest = [...snapshot.workload.statements].sort((a, b) => b.totalTimeMs - a.totalTimeMs)
    .slice(0, DROP_CHECK_STATEMENTS).map((statement) => statement.query);
  const verified: Finding[] = [];
  for (const finding of findings) {
    if (finding.rule === 'missing-index') {
      const kept = await verifyProposal(session, finding, texts, searchPath, options);
      if (kept) verified.push(kept);
    } else if (DROP_RULES.has(finding.rule)) {
      const index = snapshot.indexes.find((candidate) => candidate.schema === finding.target.schema && candidate.name === finding.target.name);
      verified.push(index ? await checkDrop(session, finding, costliest, index.oid, searchPath) : finding);
    } else {
      verified.push(finding);
    }
  }
  return verified;
}

async function verifyProposal(
  session: Session, finding: Finding, texts: ReadonlyMap<string, string>, searchPath: string | undefined, options: VerifyOptions,
): Promise<Finding | null> {
  const create = finding.actions.find((action) => action.kind === 'create-index' && action.sql.startsWith('CREATE INDEX CONCURRENTLY'));
  const statements = String(finding.evidence.statements ?? '').split(',').flatMap((id) => texts.get(id) ?? []);
  // A partitioned table's index is built per partition: hypopg cannot model it as one.
  if (!create || statements.length === 0 || finding.actions.some((action) => action.sql.includes(' ON ONLY '))) return finding;
  const result = await verifyIndex(session, statements, create.sql, searchPath ? { searchPath } : {});
  const verdicts = result.statements.filter((verdict): verdict is IndexVerdict => !isSkipped(verdict));
  if (result.error || verdicts.length === 0) {
    return withEvidence(finding, { verificationNote: result.error ?? 'no statement could be planned' });
  }
  const before = sum(verdicts.map((verdict) => verdict.before));
  const after = sum(verdicts.map((verdict) => verdict.after));
  const reduction = before > 0 ? 1 - after / before : 0;
  if (reduction < options.minCostReduction) return null;
  return withEvidence(finding, {
    verified: true,
    costBefore: round(before),
    costAfter: round(after),
    costReduction: round(reduction),
    statementsUsingIndex: verdicts.filter((verdict) => verdict.usesIndex).length,
  }, `${finding.message.replace(/ \(estimated, unverified\)/, '')} Verified with hypopg: planned cost ${round(before)} → ${round(after)}.`);
}

async function checkDrop(session: Session, finding: Finding, statements: readonly string[], indexOid: number, searchPath: string | undefined): Promise<Finding> {
  const result = await verifyDrop(session, statements, indexOid, searchPath ? { searchPath } : {});
  const verdicts = result.statements.filter((verdict): verdict is DropVerdict => !isSkipped(verdict));
  const changed = verdicts.filter((verdict) => verdict.changed);
  return withEvidence(finding, {
    plansChecked: verdicts.length,
    plansChanged: changed.length,
    ...(changed[0] ? { changedPlan: changed[0].statement.slice(0, 120) } : {}),
    ...(result.note ? { verificationNote: result.note } : {}),
  });
}

function withEvidence(finding: Finding, extra: Evidence, message = finding.message): Finding {
  return { ...finding, message, evidence: { ...finding.evidence, ...extra } };
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
