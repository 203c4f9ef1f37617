import type { Action, ActionKind, Finding } from '../rule.js';

/** One statement of a plan and the findings it fixes. */
export interface PlanStep {
  readonly action: Action;
  readonly findings: readonly Finding[];
}

/** A step left out because every reason for it relies on an index the plan drops. */
export interface HeldStep extends PlanStep {
  readonly reason: string;
}

export interface Plan {
  readonly steps: readonly PlanStep[];
  readonly held: readonly HeldStep[];
}

// Drops first (an invalid or duplicate index goes before anything is built), then
// builds, then table changes, then maintenance; manual steps last, as advice.
const ORDER: Readonly<Record<ActionKind, number>> = {
  'drop-index': 0, 'create-index': 1, reindex: 2, 'alter-table': 3, vacuum: 4, analyze: 5, manual: 6,
};

interface Draft {
  readonly action: Action;
  readonly reasons: Array<{ finding: Finding; action: Action }>;
  readonly position: number;
}

/**
 * The actions of all findings as one ordered, deduplicated plan: the same statement
 * proposed by several findings appears once, listing them all. Within a kind, steps
 * keep the order the findings gave them (a partitioned build's parent, partitions, attaches).
 *
 * Maintenance steps (vacuum, analyze) go by urgency instead: xid-wraparound's first,
 * oldest table first (evidence `age`), then the rest by the waste they clear (evidence
 * `wastedBytes`, else `deadTuples`), most first.
 *
 * Rules judge the snapshot one at a time, so two of them can each drop one index of a
 * pair (redundant-index drops A because B covers it, unused-index drops B). A drop whose
 * every reason relies on an index the plan also drops is held back, never run.
 */
export function buildPlan(findings: readonly Finding[]): Plan {
  const drafts = new Map<string, Draft>();
  for (const finding of findings) {
    for (const action of finding.actions) {
      const draft = drafts.get(action.sql) ?? { action, reasons: [], position: drafts.size };
      draft.reasons.push({ finding, action });
      drafts.set(action.sql, draft);
    }
  }
  const { kept, held } = holdBackUnsafeDrops(mergePrefixBuilds([...drafts.values()]));
  const order = (a: Draft, b: Draft) =>
    ORDER[a.action.kind] - ORDER[b.action.kind] || maintenanceOrder(a, b) || a.position - b.position;
  return {
    steps: kept.sort(order).map((draft) => ({ action: draft.action, findings: draft.reasons.map((r) => r.finding) })),
    held,
  };
}

/** What a single-statement index build creates, from the finding that proposed it. */
function builtIndex(draft: Draft): { table: string; columns: readonly string[] } | null {
  const { finding, action } = draft.reasons[0] ?? {};
  if (!finding || !action || action.kind !== 'create-index' || finding.actions.length !== 1) return null;
  if (!action.sql.startsWith('CREATE INDEX CONCURRENTLY') || action.sql.includes(' WHERE ')) return null;
  const { schema, table, columns } = finding.target;
  return schema && table && columns.length ? { table: JSON.stringify([schema, table]), columns } : null;
}

/**
 * Two rules can propose indexes on one table where one serves both: missing-fk-index
 * wants (owner_id), missing-index (owner_id, type_id, uploaded_at), which leads with it and
 * so serves the FK checks too. A plain build whose columns lead another planned plain
 * build on the same table is folded into it: its findings move to the longer index.
 */
function mergePrefixBuilds(drafts: Draft[]): Draft[] {
  const builds = drafts.flatMap((draft) => {
    const index = builtIndex(draft);
    return index ? [{ draft, index }] : [];
  });
  const folded = new Set<Draft>();
  for (const short of builds) {
    const longer = builds.find((long) => long !== short && !folded.has(long.draft) && long.index.table === short.index.table
      && long.index.columns.length > short.index.columns.length
      && short.index.columns.every((column, i) => long.index.columns[i] === column));
    if (!longer) continue;
    longer.draft.reasons.push(...short.draft.reasons.map(({ finding }) => ({ finding, action: longer.draft.action })));
    folded.add(short.draft);
  }
  return drafts.filter((draft) => !folded.has(draft));
}

const WRAPAROUND_RULE = 'xid-wraparound';
const MAINTENANCE: ReadonlySet<ActionKind> = new Set(['vacuum', 'analyze']);

// Negative when a is more urgent; 0 outside maintenance (position decides there).
function maintenanceOrder(a: Draft, b: Draft): number {
  if (!MAINTENANCE.has(a.action.kind) || !MAINTENANCE.has(b.action.kind)) return 0;
  const ua = urgency(a);
  const ub = urgency(b);
  return Number(ub.wraparound) - Number(ua.wraparound) || ub.weight - ua.weight;
}

// A step serves all its findings: it is as urgent as the most urgent of them.
function urgency(draft: Draft): { wraparound: boolean; weight: number } {
  const wraparound = draft.reasons.filter(({ finding }) => finding.rule === WRAPAROUND_RULE);
  const weights = (wraparound.length > 0 ? wraparound : draft.reasons).map(({ finding }) => {
    const { age, wastedBytes, deadTuples } = finding.evidence;
    const weight = wraparound.length > 0 ? age : wastedBytes ?? deadTuples;
    return typeof weight === 'number' && Number.isFinite(weight) ? weight : 0;
  });
  return { wraparound: wraparound.length > 0, weight: Math.max(0, ...weights) };
}

function holdBackUnsafeDrops(drafts: Draft[]): { kept: Draft[]; held: HeldStep[] } {
  const held: HeldStep[] = [];
  let kept = drafts;
  for (;;) {
    const dropped = new Set(kept.flatMap((draft) => droppedIndex(draft) ?? []));
    const unsafe = kept.filter((draft) => draft.reasons.every(({ action }) =>
      action.dependsOn !== undefined && dropped.has(key(action.dependsOn.schema, action.dependsOn.name))));
    if (unsafe.length === 0) return { kept, held };
    for (const draft of unsafe) {
      const relied = draft.reasons.map(({ action }) => `${action.dependsOn?.schema}.${action.dependsOn?.name}`);
      held.push({
        action: draft.action,
        findings: draft.reasons.map((r) => r.finding),
        reason: `it relies on ${[...new Set(relied)].join(', ')}, which this plan drops too`,
      });
    }
    kept = kept.filter((draft) => !unsafe.includes(draft));
  }
}

// A drop-index action drops its finding's target index.
function droppedIndex(draft: Draft): string | undefined {
  const target = draft.reasons[0]?.finding.target;
  if (draft.action.kind !== 'drop-index' || target?.kind !== 'index' || !target.schema || !target.name) return undefined;
  return key(target.schema, target.name);
}

function key(schema: string, name: string): string {
  return JSON.stringify([schema, name]);
}
