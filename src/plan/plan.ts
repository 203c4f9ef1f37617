import type { Action, ActionKind, Finding } from '../rule.js';

/** One statement of a plan and the findings it fixes. */
export interface PlanStep {
  readonly action: Action;
  readonly findings: readonly Finding[];
}

// Drops first (an invalid or duplicate index goes before anything is built), then
// builds, then table changes, then maintenance; manual steps last, as advice.
const ORDER: Readonly<Record<ActionKind, number>> = {
  'drop-index': 0, 'create-index': 1, reindex: 2, 'alter-table': 3, vacuum: 4, analyze: 5, manual: 6,
};

/**
 * The actions of all findings as one ordered, deduplicated plan: the same statement
 * proposed by several findings appears once, listing them all. Within a kind, steps
 * keep the order the findings gave them (a partitioned build's parent, partitions, attaches).
 */
export function buildPlan(findings: readonly Finding[]): PlanStep[] {
  const steps = new Map<string, { action: Action; findings: Finding[]; position: number }>();
  for (const finding of findings) {
    for (const action of finding.actions) {
      const step = steps.get(action.sql);
      if (step) step.findings.push(finding);
      else steps.set(action.sql, { action, findings: [finding], position: steps.size });
    }
  }
  return [...steps.values()]
    .sort((a, b) => ORDER[a.action.kind] - ORDER[b.action.kind] || a.position - b.position)
    .map(({ action, findings: fixed }) => ({ action, findings: fixed }));
}
