import type { Lookup } from '../collect/lookup.js';
import type { Snapshot, Statement } from '../collect/snapshot.js';
import type { SkipReason } from './access.js';
import { candidateFor, type Candidate, type CandidateOptions } from './candidates.js';
import { chooseForWorkload, type ChoiceOptions, type Proposal, type WorkloadUpdate } from './choose.js';
import { mergeCandidates } from './merge.js';
import { extractShape } from './predicates.js';
import { estimator, type Estimator } from './selectivity.js';
import { servingIndex } from './served.js';

export interface AdvisorOptions extends CandidateOptions, ChoiceOptions {
  /** How many statements to analyse, costliest (total time) first. */
  readonly topStatements: number;
  readonly narrowRows: number;
}

export interface Advice {
  readonly proposals: readonly Proposal[];
  readonly estimate: Estimator;
  /** Statements parsed and resolved. */
  readonly analyzed: number;
  /** Statements left out, by reason (utility statements, texts the parser rejects). */
  readonly skipped: Readonly<Record<SkipReason, number>>;
}

// An UPDATE (possibly under WITH): parsed even outside the costliest statements, for write costs.
const UPDATE_TEXT = /^\s*(?:with\b[\s\S]*)?\bupdate\b/i;

/**
 * The index advisor without verification: parses the costliest statements, turns each
 * table access into a candidate index, drops those an existing index already serves,
 * merges prefix-compatible candidates and chooses for the workload.
 */
export function adviseIndexes(snapshot: Snapshot, lookup: Lookup, options: AdvisorOptions): Advice {
  const estimate = estimator(snapshot, lookup);
  // Without its pg_stats the planner's defaults would stand in for real selectivities and
  // pick wrong columns: such tables are left out (missing-index names them).
  const hidden = new Set(snapshot.visibility?.tablesWithoutStats);
  const top = [...snapshot.workload.statements].sort((a, b) => b.totalTimeMs - a.totalTimeMs).slice(0, options.topStatements);
  const skipped: Record<SkipReason, number> = { utility: 0, unparseable: 0 };
  const candidates: Candidate[] = [];
  let analyzed = 0;
  for (const statement of top) {
    const extraction = extractShape(statement.query, snapshot);
    if (!extraction.ok) {
      skipped[extraction.reason]++;
      continue;
    }
    analyzed++;
    extraction.shape.accesses.forEach((access, i) => {
      const table = lookup.table(access.tableOid);
      if (!table || hidden.has(table.oid)) return;
      const candidate = candidateFor(access, `${statement.queryId}:${statement.userId}:${i}`, statement, table, estimate, options);
      if (typeof candidate !== 'string' && !servingIndex(candidate, lookup, estimate, options.narrowRows)) candidates.push(candidate);
    });
  }
  const proposals = chooseForWorkload(mergeCandidates(candidates), workloadUpdates(snapshot), lookup, options);
  return { proposals, estimate, analyzed, skipped };
}

function workloadUpdates(snapshot: Snapshot): WorkloadUpdate[] {
  return snapshot.workload.statements.filter((statement: Statement) => UPDATE_TEXT.test(statement.query)).flatMap((statement) => {
    const extraction = extractShape(statement.query, snapshot);
    return extraction.ok ? extraction.shape.updates.map((updated) => ({ statement, updated })) : [];
  });
}
