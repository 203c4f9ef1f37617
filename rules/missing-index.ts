import { adviseIndexes } from '../src/advisor/advise.js';
import { indexColumns } from '../src/advisor/candidates.js';
import { proposedIndexActions, renderWhere } from '../src/advisor/index-sql.js';
import { lookup } from '../src/collect/lookup.js';
import { hiddenStatementsNote, hiddenStatisticsNote, withoutStatistics } from '../src/collect/visibility.js';
import { indexNamer } from '../src/plan/index-ddl.js';
import { formatCount } from '../src/plan/numbers.js';
import { defineRule, target } from '../src/rule.js';

export default defineRule({
  id: 'missing-index',
  title: 'Index the workload is missing',
  category: 'queries',
  severity: 'warning',
  requires: ['pg_stat_statements'],
  options: {
    /** Statements analysed, costliest (total execution time) first. */
    topStatements: 50,
    /** Tables with fewer rows are cheap to scan: never indexed for the workload. */
    minRows: 10_000,
    /** A statement reading more than this share of a table gains little from an index. */
    maxSelectivity: 0.1,
    /** An IS NULL or boolean test matching at most this share of rows becomes a partial index's WHERE. */
    partialMaxFraction: 0.1,
    /** An existing index that narrows a statement to this many rows already serves it. */
    narrowRows: 50,
    /** A proposal must save at least this much execution time (ms, net of write cost) over the statistics' window. */
    minSavedMs: 100,
    /** Estimated cost of maintaining one index entry on a write, in ms. */
    indexWriteMs: 0.01,
    /** With hypopg in the database: keep a proposal only if it cuts the planned cost by this share. */
    minCostReduction: 0.3,
  },
  docs: `
## What is wrong
The statements that cost the database the most time filter, join or sort on columns no
index serves, so each call reads far more of a table than it returns.

## Why it hurts
A dashboard query \`WHERE owner_id = $1 AND type_id = $2 ORDER BY uploaded_at DESC LIMIT 20\`
on a 200k-row table reads all 200k rows and sorts the matches on every call; with an index
on (owner_id, type_id, uploaded_at) it reads 20 index entries. Run 10,000 times an hour,
that is the difference between seconds of CPU and milliseconds.

## How perfaudit detects it
The costliest \`topStatements\` of pg_stat_statements (by total time) are parsed with
PostgreSQL's own parser (libpg-query); tables and columns are resolved against the snapshot
(schemas, aliases, quoted names, CTEs, subqueries, joins). Per table it extracts equality
predicates, ranges, IN / ANY, IS [NOT] NULL, boolean tests, join keys and the ORDER BY of a
LIMITed query; each OR branch is its own access. Selectivity comes from pg_stats (null_frac,
n_distinct, most common boolean values) as a generic plan would estimate an unknown \`$n\`.
Each access yields a btree candidate: equality columns, most selective first, then one range
(preferred) or sort column. A null test or boolean test that matches at most
\`partialMaxFraction\` of the rows becomes the WHERE of a partial index instead of a key.
Tables under \`minRows\` and statements reading more than \`maxSelectivity\` of a table are
left alone, and so is a candidate an existing valid index serves (its leading columns are the
equality columns, then the range or sort column, with the same predicate or none; or they
narrow the scan to \`narrowRows\` rows). Candidates that are prefixes of one another merge
into one index. Indexes are then chosen for the workload: the largest net saving first
(statement time × share of rows no longer read, minus the write cost of maintaining the
index: inserts, deletes, non-HOT updates and the HOT updates lost because an UPDATE of the
workload sets an indexed column), re-scored after each choice so one index serving several
statements wins over several narrow ones.

Utility statements and texts the parser rejects are skipped; their count is in each
finding's evidence (\`skippedUtility\`, \`skippedUnparseable\`).

## Fix
Run the \`CREATE INDEX CONCURRENTLY IF NOT EXISTS\` statement (on a partitioned table:
\`ON ONLY\` the parent, concurrent builds on the partitions, then ATTACH), then ANALYZE and
watch the statements' mean time in pg_stat_statements.

## Verification
When the scanned database has the \`hypopg\` extension, \`perfaudit scan\` creates each
proposal as a hypothetical index and plans the statements it serves (generic plans) before
and after: a proposal that does not cut the planned cost by \`minCostReduction\` is dropped,
the others carry \`verified: true\`, \`costBefore\` and \`costAfter\`.

## Limits
Without hypopg (and in offline scans) proposals are unverified (\`verified: false\`): the
saving is an estimate from statistics, not from the planner. pg_stat_statements replaces constants with \`$n\`, so \`status = 'open'\`
reads as \`status = $1\`: a partial index on a constant value cannot be derived, only from
tests the text keeps (IS NULL, \`flag\`, \`NOT flag\`); for the same reason ranges use the
planner's default selectivities, and PostgreSQL 18 folds IN lists to one element. Expression
predicates (\`lower(email) = $1\`), LIKE and non-btree operators are not analysed. Time
saved is split evenly across the tables a statement needs indexed. Statistics cover the
window since the last reset (or \`--sample\`).
`,
  skipReason: (snapshot) => snapshot.workload.unavailable,
  coverageGap(snapshot, options) {
    const catalog = lookup(snapshot);
    const sizable = snapshot.tables.filter((table) => catalog.rowsOf(table) >= options.minRows);
    const notes = [hiddenStatisticsNote(snapshot, withoutStatistics(snapshot, sizable), 'indexes for them are not proposed'), hiddenStatementsNote(snapshot)];
    return notes.filter(Boolean).join(' ') || null;
  },
  check(snapshot, options) {
    const catalog = lookup(snapshot);
    const name = indexNamer(catalog);
    const advice = adviseIndexes(snapshot, catalog, options);
    const counts = {
      statementsAnalyzed: advice.analyzed,
      skippedUtility: advice.skipped.utility,
      skippedUnparseable: advice.skipped.unparseable,
    };
    return advice.proposals.map((proposal) => {
      const { table } = proposal.candidate;
      const columns = indexColumns(proposal.candidate).map((attnum) => catalog.columnName(table.oid, attnum));
      const where = renderWhere(table, proposal.candidate.partial, catalog);
      const actions = proposedIndexActions(table, columns, where, catalog, name);
      const rows = advice.estimate.rows(table);
      const selectivity = Math.max(...proposal.uses.map((use) => use.selectivity));
      const calls = proposal.statements.reduce((sum, s) => sum + s.calls, 0);
      const totalTimeMs = proposal.statements.reduce((sum, s) => sum + s.totalTimeMs, 0);
      return {
        message: `${table.schema}.${table.name} (${columns.join(', ')})${where ? ` WHERE ${where}` : ''}: `
          + `${plural(proposal.statements.length, 'statement')} (${formatCount(calls)} calls, ${formatMs(totalTimeMs)}) `
          + `would read at most ~${percent(selectivity)} of ${formatCount(rows)} rows per call; ~${formatMs(proposal.savedMs)} saved `
          + `against ~${formatMs(proposal.writeCostMs)} of index writes (estimated, unverified).`,
        target: target('table', { schema: table.schema, table: table.name, columns }),
        evidence: {
          statements: proposal.statements.map((s) => s.queryId).join(','),
          statementCount: proposal.statements.length,
          calls,
          totalTimeMs: round(totalTimeMs),
          tableRows: rows,
          predicate: where,
          selectivity: Number(selectivity.toPrecision(3)),
          estimatedSavedMs: round(proposal.savedMs),
          indexWrites: proposal.indexWrites,
          lostHotUpdates: proposal.lostHotUpdates,
          writeCostMs: round(proposal.writeCostMs),
          verified: false,
          ...counts,
        },
        actions,
      };
    }).sort((a, b) => `${a.target.schema}.${a.target.table}(${a.target.columns.join(',')})`
      .localeCompare(`${b.target.schema}.${b.target.table}(${b.target.columns.join(',')})`));
  },
});

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

function percent(fraction: number): string {
  const value = fraction * 100;
  return `${value >= 1 ? value.toFixed(0) : value >= 0.01 ? value.toFixed(2) : '<0.01'}%`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
