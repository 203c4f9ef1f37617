import type { Lookup } from '../collect/lookup.js';
import type { Statement, Table } from '../collect/snapshot.js';
import type { UpdatedColumns } from './access.js';
import { indexColumns, type Candidate, type Use } from './candidates.js';

/** A candidate the workload pays for, with the numbers that justify it. */
export interface Proposal {
  readonly candidate: Candidate;
  /** The uses it takes over (accesses not already served by an index chosen before it). */
  readonly uses: readonly Use[];
  readonly statements: readonly Statement[];
  /** Estimated execution time saved, ms, over the statistics' window. */
  readonly savedMs: number;
  /** Index entries the table's writes would add (or leave to clean up) over the same window. */
  readonly indexWrites: number;
  /** Of those, HOT updates that would stop being HOT because they set an indexed column. */
  readonly lostHotUpdates: number;
  readonly writeCostMs: number;
}

export interface ChoiceOptions {
  /** A proposal must save at least this much time, net of its write cost. */
  readonly minSavedMs: number;
  /** Estimated cost of writing (and later vacuuming) one index entry, ms. */
  readonly indexWriteMs: number;
}

/** An UPDATE statement of the workload and the columns it sets. */
export interface WorkloadUpdate {
  readonly statement: Statement;
  readonly updated: UpdatedColumns;
}

/**
 * Chooses indexes for the workload, not per statement: greedily takes the candidate with
 * the largest net saving (time saved minus write cost), then re-scores the rest without
 * the accesses it already serves, so one index serving several statements beats several
 * narrow ones. A statement's time is split evenly across its accesses that need an index
 * (a join of two unindexed tables owes half to each).
 */
export function chooseForWorkload(
  candidates: readonly Candidate[], updates: readonly WorkloadUpdate[], lookup: Lookup, options: ChoiceOptions,
): Proposal[] {
  const accessesPerStatement = new Map<string, Set<string>>();
  for (const use of candidates.flatMap((candidate) => candidate.uses)) {
    const keys = accessesPerStatement.get(use.statement.queryId) ?? new Set();
    accessesPerStatement.set(use.statement.queryId, keys.add(use.key));
  }
  const served = new Set<string>();
  const chosen: Proposal[] = [];
  let remaining = [...candidates];
  for (;;) {
    const scored = remaining.map((candidate) => score(candidate, served, accessesPerStatement, updates, lookup, options));
    const best = scored.reduce<Proposal | null>((top, p) => (!top || net(p) > net(top) ? p : top), null);
    if (!best || best.uses.length === 0 || net(best) < options.minSavedMs) break;
    chosen.push(best);
    for (const use of best.uses) served.add(use.key);
    remaining = remaining.filter((candidate) => candidate !== best.candidate);
  }
  return chosen;
}

const net = (proposal: Proposal) => proposal.savedMs - proposal.writeCostMs;

function score(
  candidate: Candidate, served: ReadonlySet<string>, accesses: ReadonlyMap<string, ReadonlySet<string>>,
  updates: readonly WorkloadUpdate[], lookup: Lookup, options: ChoiceOptions,
): Proposal {
  const uses = candidate.uses.filter((use) => !served.has(use.key));
  const savedMs = uses.reduce((sum, use) =>
    sum + (use.statement.totalTimeMs / (accesses.get(use.statement.queryId)?.size ?? 1)) * (1 - use.selectivity), 0);
  const statements = [...new Map(uses.map((use) => [use.statement.queryId, use.statement])).values()];
  const { indexWrites, lostHotUpdates } = writeCost(candidate, updates, lookup);
  return { candidate, uses, statements, savedMs, indexWrites, lostHotUpdates, writeCostMs: indexWrites * options.indexWriteMs };
}

/**
 * Every inserted row adds an entry to each index, every deleted row leaves one for vacuum,
 * every non-HOT update adds one; a HOT update stays HOT only while it changes no indexed
 * column, so updates that set a column of the new index are lost to HOT (counted from the
 * workload's UPDATE statements, at most the table's HOT updates).
 */
export function writeCost(candidate: Candidate, updates: readonly WorkloadUpdate[], lookup: Lookup): { indexWrites: number; lostHotUpdates: number } {
  const leaves = lookup.leavesOf(candidate.table);
  const sum = (field: 'inserted' | 'deleted' | 'updated' | 'hotUpdated') => leaves.reduce((total, leaf: Table) => total + (leaf.stats?.[field] ?? 0), 0);
  const columns = new Set([...indexColumns(candidate), ...candidate.partial.map((p) => p.attnum)]);
  const touching = updates
    .filter((u) => u.updated.tableOid === candidate.table.oid && u.updated.attnums.some((attnum) => columns.has(attnum)))
    .reduce((total, u) => total + u.statement.rows, 0);
  const hot = sum('hotUpdated');
  const lostHotUpdates = Math.min(hot, touching);
  return { indexWrites: sum('inserted') + sum('deleted') + (sum('updated') - hot) + lostHotUpdates, lostHotUpdates };
}
