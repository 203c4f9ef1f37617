import { buildPlan, type PlanStep } from '../plan/plan.js';
import { lockImpact, renderSql } from '../report/sql.js';
import type { Report } from '../report/report.js';
import { emit } from './output.js';
import { runScan, type ScanInput } from './run-scan.js';

export const PLAN_FORMATS = ['sql', 'json'] as const;
export type PlanFormat = (typeof PLAN_FORMATS)[number];

export interface PlanOptions extends ScanInput {
  readonly format: PlanFormat;
  readonly output?: string;
}

/**
 * `perfaudit plan`: the fix actions of a scan as one ordered migration: drops, then
 * builds, then table changes, then maintenance by urgency (wraparound first, then the
 * most wasted bytes), each with its lock and whether it runs online. Writes nothing to
 * the database; `--only` narrows it to some rules.
 */
export async function planCommand(options: PlanOptions & { only?: string[] }): Promise<number> {
  const { report } = await runScan({ ...options, rules: options.only ?? options.rules });
  await emit(options.format === 'json' ? renderPlanJson(report) : renderSql(report), options.output);
  return 0;
}

function renderPlanJson(report: Report): string {
  const plan = buildPlan(report.findings);
  const step = (planned: PlanStep) => ({
    ...planned.action,
    online: lockImpact(planned.action.lock) === 'online',
    impact: lockImpact(planned.action.lock),
    findings: planned.findings.map((finding) => ({ rule: finding.rule, severity: finding.severity, fingerprint: finding.fingerprint, message: finding.message })),
  });
  return `${JSON.stringify({
    schemaVersion: 1,
    database: report.database,
    steps: plan.steps.map(step),
    held: plan.held.map((held) => ({ ...step(held), reason: held.reason })),
  }, null, 2)}\n`;
}
