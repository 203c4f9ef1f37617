import type { Snapshot, Statement } from '../src/collect/snapshot.js';
import { parserUnavailable, statementShape } from '../src/collect/statement-shape.js';
import { hiddenStatementsNote } from '../src/collect/visibility.js';
import { formatBytes, formatCount } from '../src/plan/numbers.js';
import { defineRule, target, type FindingDraft } from '../src/rule.js';

export default defineRule({
  id: 'slow-query',
  title: 'Statement dominating execution time',
  category: 'queries',
  severity: 'warning',
  requires: ['pg_stat_statements'],
  options: {
    /** A statement taking this share of the database's query time or more is reported… */
    minShare: 0.2,
    /** …and is critical from this share on. */
    criticalShare: 0.5,
    /** A statement taking this long per call on average (ms) is reported whatever its share. */
    meanMs: 100,
    /** Statements run fewer times are one-offs (ad hoc queries, migrations): never reported. */
    minCalls: 2,
  },
  docs: `
## What is wrong
A statement that takes a large share of the time the database spends executing queries,
or that takes long on every call.

## Why it hurts
Time is concentrated: in most applications a handful of statements account for most of
the database's work. A 6 ms query called 200,000 times a day costs 20 minutes of server
time, more than a 2 s report run twice an hour; both hold connections, CPU and buffer
cache that every other query shares. Making the top statement ten times faster frees
more capacity than tuning everything else.

## How perfaudit detects it
From \`pg_stat_statements\` for this database (since its last reset, or over the window
with \`--sample\`). Each text is parsed with PostgreSQL's own parser; utility statements
(DDL, COPY, VACUUM, SET, transaction control, EXPLAIN, SELECT INTO) are not queries and are
left out, and so are texts that do not parse. A statement run at least \`minCalls\` times is
reported when its total execution time is at least \`minShare\` of the total of the
database's top-level queries (\`critical\` from \`criticalShare\`), or when it averages
\`meanMs\` or more per call. perfaudit's own catalog statements are never collected.

## Fix
A \`manual\` step: run the statement with real values under \`EXPLAIN (ANALYZE, BUFFERS)\`.
Sequential scans of large tables call for an index (\`perfaudit scan --rules missing-index\`,
and \`missing-fk-index\` for joins along foreign keys); temporary blocks written mean sorts or
hashes spilled to disk, which more \`work_mem\` for that statement avoids; a cheap statement
called very often is better cached or batched (\`n-plus-one\`).

## Limits
Shares are of top-level query time, not of wall-clock time, and planning time is not
counted. Statements evicted from \`pg_stat_statements\`, run by roles whose texts are hidden,
or run inside functions (with \`track = top\`) are not seen; a function call counts as one
statement. A nightly report may rightly take long: raise \`meanMs\` or ignore it. Offline
snapshots need the SQL parser loaded before the rule runs, else the rule is skipped.
`,
  skipReason: (snapshot) => snapshot.workload.unavailable ?? (snapshot.workload.statements.length > 0 ? parserUnavailable() : null),
  coverageGap: hiddenStatementsNote,
  check(snapshot, options) {
    const queries = snapshot.workload.statements.filter((statement) => statementShape(statement.query)?.utility === false);
    const totalMs = queries.filter((statement) => statement.topLevel).reduce((sum, statement) => sum + statement.totalTimeMs, 0);
    return queries
      .filter((statement) => statement.calls >= options.minCalls)
      .map((statement) => ({ statement, share: totalMs > 0 ? statement.totalTimeMs / totalMs : 0 }))
      .filter(({ statement, share }) => share >= options.minShare || statement.meanTimeMs >= options.meanMs)
      .sort((a, b) => b.statement.totalTimeMs - a.statement.totalTimeMs)
      .map(({ statement, share }): FindingDraft => ({
        severity: share >= options.criticalShare ? 'critical' : 'warning',
        message: `${describe(statement, share, snapshot)}: ${shortText(statement.query)}`,
        target: target('query', { query: statement.query }),
        evidence: {
          queryId: statement.queryId,
          calls: statement.calls,
          totalTimeMs: round(statement.totalTimeMs, 1),
          meanTimeMs: round(statement.meanTimeMs, 2),
          rowsPerCall: round(statement.rows / statement.calls, 2),
          shareOfTotalTime: round(share, 3),
          sharedBlocksRead: statement.sharedBlocksRead,
          sharedBlocksHit: statement.sharedBlocksHit,
          tempBlocksWritten: statement.tempBlocksWritten,
        },
        actions: [{ kind: 'manual', sql: advice(statement, snapshot), transactional: true, lock: null }],
      }));
  },
});

/** "87% of query time since statistics were reset (200 calls, 1.2 s in all, 6.1 ms per call, 1 row per call)" */
function describe(statement: Statement, share: number, snapshot: Snapshot): string {
  const window = snapshot.workload.sampleSeconds === null ? 'since statistics were reset' : `in the ${Math.round(snapshot.workload.sampleSeconds)} s sample`;
  const rows = statement.rows / statement.calls;
  return `${Math.round(share * 100)}% of query time ${window} (${formatCount(statement.calls)} calls, ${formatMs(statement.totalTimeMs)} in all, `
    + `${formatMs(statement.meanTimeMs)} per call, ${rows < 10 ? round(rows, 1) : formatCount(rows)} ${rows === 1 ? 'row' : 'rows'} per call)`;
}

function advice(statement: Statement, snapshot: Snapshot): string {
  const temp = statement.tempBlocksWritten * snapshot.server.blockSize;
  return [
    `-- Statement ${statement.queryId}: ${shortText(statement.query)}`,
    '-- 1. Run it with real parameter values and read the plan:  EXPLAIN (ANALYZE, BUFFERS) <statement>;',
    '-- 2. Sequential scans of large tables want an index:  perfaudit scan --rules missing-index,missing-fk-index',
    ...(temp > 0
      ? [`-- 3. It wrote ${formatBytes(temp)} of temporary files: sorts or hashes spill to disk. Give it more memory in its transaction`,
        '--    (SET LOCAL work_mem = \'64MB\';), or make it sort and hash fewer rows.']
      : []),
    ...(statement.calls >= 1000 && statement.meanTimeMs < 10
      ? [`-- It is cheap but called ${formatCount(statement.calls)} times: cache its result, or batch the calls (see the n-plus-one rule).`]
      : []),
  ].join('\n');
}

/** 0.42 ms, 6.1 ms, 1.2 s, 3.5 min, 2.1 h */
function formatMs(ms: number): string {
  if (ms < 1) return `${round(ms, 2)} ms`;
  if (ms < 1000) return `${round(ms, 1)} ms`;
  if (ms < 60_000) return `${round(ms / 1000, 1)} s`;
  return ms < 3_600_000 ? `${round(ms / 60_000, 1)} min` : `${round(ms / 3_600_000, 1)} h`;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** One line, at most 80 characters. */
function shortText(query: string): string {
  const line = query.replace(/\s+/g, ' ').trim();
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}
