import { parseSync } from 'libpg-query';
import { lookup, type Lookup } from '../src/collect/lookup.js';
import type { Snapshot, Statement, Table } from '../src/collect/snapshot.js';
import { formatBytes, formatCount } from '../src/plan/numbers.js';
import { defineRule, target, type FindingDraft } from '../src/rule.js';

export default defineRule({
  id: 'seq-scan-heavy',
  title: 'Large table read mostly by sequential scans',
  category: 'queries',
  severity: 'warning',
  requires: [],
  options: {
    /** A table this big (relpages × block size) is large. */
    minTableBytes: 10 * 1024 * 1024,
    /** … and so is a table with this many rows (planner estimate), whatever its size. */
    minRows: 100_000,
    /** Share of the rows read that came from sequential scans (seq_tup_read / (seq_tup_read + idx_tup_fetch)). */
    minSeqShare: 0.9,
    /** Fewer sequential scans than this are a report or a job, not a habit. */
    minSeqScans: 100,
    /** Statements listed per finding, by total time. */
    maxStatements: 3,
  },
  docs: `
## What is wrong
A large table that queries read mostly by sequential scans, again and again: nearly every
row fetched from it comes from reading the whole table rather than from an index.

## Why it hurts
A sequential scan reads every page: a 2 GB table costs 2 GB of buffer traffic per scan,
whether the query wants one row or all of them. 500 scans a day of that table move 1 TB,
evict hotter data from shared_buffers, and take seconds each where an index lookup takes
well under a millisecond. The cost grows with the table, so it creeps up unnoticed.

## How perfaudit detects it
From \`pg_stat_all_tables\`, per table (each partition on its own): the table is large
(\`relpages\` × block size ≥ \`minTableBytes\`, or ≥ \`minRows\` rows), it saw at least
\`minSeqScans\` sequential scans, and sequential scans delivered at least \`minSeqShare\` of
the rows read from it (\`seq_tup_read\` against \`idx_tup_fetch\`). Counters are cumulative
since the last statistics reset, or the change over the window with \`--sample\`.

The statements behind the scans are found in \`pg_stat_statements\`: each statement text is
parsed with PostgreSQL's own parser, and a statement is linked when a table it reads
(FROM, JOIN, subqueries, CTE bodies, UPDATE/DELETE/MERGE targets, COPY … TO) resolves to
the table or to a partitioned table above it. Unqualified names resolve through the
server's \`search_path\`, else to every table of that name; names of the statement's own CTEs
are not tables. INSERT targets are not read. The \`maxStatements\` linked statements with
the most total time are listed.

## Fix
A \`manual\` step, because the right fix depends on the statements: look at the listed
statements, run \`perfaudit scan --rules missing-index\` for the indexes they need, and
confirm with \`EXPLAIN (ANALYZE, BUFFERS)\` and real values. A sequential scan is the right
plan for statements that read most of the table (reports, exports): leave those alone, or
move them to a replica.

## Limits
Statistics do not say which statement did which scan: a linked statement may use an index
on this table. \`CREATE INDEX\`, foreign-key validation and \`pg_dump\` count as sequential
scans too, and a parallel scan counts once per worker. A table scanned with LIMIT counts as a
scan that read few rows. The scan count is not divided by time: a nightly job on statistics
a year old passes \`minSeqScans\`. Statements evicted from \`pg_stat_statements\`, run by
other roles whose texts are hidden, or called from functions (with track = top) are not seen.
Offline snapshots need the SQL parser loaded before the rule runs.
`,
  check(snapshot, options) {
    const catalog = lookup(snapshot);
    const heavy = snapshot.tables.filter((table) => table.kind !== 'partitioned' && isHeavy(table, catalog, snapshot.server.blockSize, options));
    if (heavy.length === 0) return [];
    const readers = statementsByTable(snapshot, catalog);
    const unlinked = snapshot.workload.unavailable
      ?? (snapshot.workload.statements.length > 0 && !parserLoaded() ? 'statements not linked: the SQL parser was not loaded' : null)
      ?? 'no statement in pg_stat_statements reads it';
    const window = snapshot.workload.sampleSeconds === null ? 'since statistics were reset' : `in the ${Math.round(snapshot.workload.sampleSeconds)} s sample`;
    return heavy.map((table): FindingDraft => {
      const stats = table.stats!;
      const bytes = table.relpages * snapshot.server.blockSize;
      const rows = catalog.rowsOf(table);
      const seqShare = stats.seqTupRead / (stats.seqTupRead + stats.idxTupFetch);
      const linked = [...(readers.get(table.oid) ?? [])].sort((a, b) => b.totalTimeMs - a.totalTimeMs || a.queryId.localeCompare(b.queryId));
      const top = linked.slice(0, options.maxStatements);
      const name = `${table.schema}.${table.name}`;
      const blame = top.length > 0
        ? `; statements reading it, most total time first: ${top.map((s) => s.queryId).join(', ')}`
        : `; ${unlinked}`;
      return {
        message: `${name} (${formatBytes(bytes)}, ${formatCount(rows)} rows) saw ${formatCount(stats.seqScan)} sequential scans ${window}, `
          + `reading ${formatCount(stats.seqTupRead)} rows (${(seqShare * 100).toFixed(0)}% of rows read) against ${formatCount(stats.idxTupFetch)} fetched by index${blame}.`,
        target: target('table', { schema: table.schema, table: table.name }),
        evidence: {
          seqScan: stats.seqScan,
          seqTupRead: stats.seqTupRead,
          idxScan: stats.idxScan,
          idxTupFetch: stats.idxTupFetch,
          tableBytes: bytes,
          rows,
          seqShare: Math.round(seqShare * 10_000) / 10_000,
          statements: linked.length,
          ...Object.fromEntries(top.map((s, i) => [`statement${i + 1}`, `${s.queryId}: ${shortText(s.query)}`])),
        },
        actions: [{
          kind: 'manual',
          sql: [
            `-- ${name} is read mostly by sequential scans (${formatCount(stats.seqScan)} scans, ${formatCount(stats.seqTupRead)} rows read).`,
            ...(top.length > 0
              ? ['-- 1. Look at the statements that read it, most total time first:', ...top.map((s) => `--    ${s.queryId}: ${shortText(s.query)}`)]
              : ['-- 1. Find the statements that read it (pg_stat_statements, application logs).']),
            '-- 2. Let perfaudit propose the indexes they need:  perfaudit scan --rules missing-index',
            '-- 3. Confirm with a statement\'s real plan and values:  EXPLAIN (ANALYZE, BUFFERS) <statement>;',
            '-- Statements that read most of the table (reports, exports) are right to scan it: leave them, or move them to a replica.',
          ].join('\n'),
          transactional: true,
          lock: null,
        }],
      };
    });
  },
});

interface Thresholds {
  readonly minTableBytes: number;
  readonly minRows: number;
  readonly minSeqShare: number;
  readonly minSeqScans: number;
}

function isHeavy(table: Table, catalog: Lookup, blockSize: number, options: Thresholds): boolean {
  const stats = table.stats;
  if (!stats || stats.seqScan < options.minSeqScans || stats.seqTupRead === 0) return false;
  const large = table.relpages * blockSize >= options.minTableBytes || catalog.rowsOf(table) >= options.minRows;
  return large && stats.seqTupRead / (stats.seqTupRead + stats.idxTupFetch) >= options.minSeqShare;
}

/** Statements by the oid of each leaf table they read. */
function statementsByTable(snapshot: Snapshot, catalog: Lookup): Map<number, Set<Statement>> {
  const byName = new Map<string, Table[]>();
  for (const table of snapshot.tables) byName.set(table.name, [...(byName.get(table.name) ?? []), table]);
  const searchPath = (snapshot.server.settings.search_path ?? '"$user", public').split(',')
    .map((part) => part.trim().replace(/^"(.*)"$/, '$1'))
    .map((part) => (part === '$user' ? snapshot.server.currentUser : part));
  const resolve = (ref: RelationRef): Table[] => {
    const candidates = byName.get(ref.name) ?? [];
    if (ref.schema !== null) return candidates.filter((table) => table.schema === ref.schema);
    const onPath = searchPath.map((schema) => candidates.find((table) => table.schema === schema)).find((table) => table !== undefined);
    return onPath ? [onPath] : candidates;
  };
  const readers = new Map<number, Set<Statement>>();
  for (const statement of snapshot.workload.statements) {
    for (const table of relationsRead(statement.query).flatMap(resolve).flatMap(catalog.leavesOf)) {
      readers.set(table.oid, (readers.get(table.oid) ?? new Set()).add(statement));
    }
  }
  return readers;
}

interface RelationRef {
  readonly schema: string | null;
  readonly name: string;
}

type Node = Record<string, unknown>;

const READING_STATEMENTS = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt', 'CopyStmt']);
// RangeVars that name no relation being read: INSERT targets, SELECT INTO's new table,
// FOR UPDATE OF's aliases.
const NOT_READ = new Set(['relation@InsertStmt', 'intoClause', 'lockingClause']);

/** The relations a statement reads, by the names it uses, as PostgreSQL's parser sees them. */
function relationsRead(sql: string): RelationRef[] {
  let stmts: Array<{ stmt?: Node }>;
  try {
    stmts = (parseSync(sql) as { stmts?: Array<{ stmt?: Node }> }).stmts ?? [];
  } catch {
    return []; // not parseable (e.g. a withheld text), or the parser is not loaded
  }
  const refs: RelationRef[] = [];
  for (const { stmt } of stmts) {
    const [kind, node] = Object.entries(stmt ?? {})[0] ?? [];
    if (!kind || !READING_STATEMENTS.has(kind) || (kind === 'CopyStmt' && (node as Node).is_from === true)) continue;
    const ctes = new Set<string>();
    const found: RelationRef[] = [];
    walk(stmt, '', (key, value) => {
      if (key === 'CommonTableExpr') ctes.add(String((value as Node).ctename));
      if (key === 'RangeVar') {
        const rangeVar = value as Node;
        found.push({ schema: typeof rangeVar.schemaname === 'string' ? rangeVar.schemaname : null, name: String(rangeVar.relname) });
      }
    });
    refs.push(...found.filter((ref) => ref.schema !== null || !ctes.has(ref.name)));
  }
  return refs;
}

function walk(value: unknown, parentKey: string, visit: (key: string, value: unknown) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, parentKey, visit);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value)) {
    if (NOT_READ.has(key) || NOT_READ.has(`${key}@${parentKey}`)) continue;
    visit(key, child);
    walk(child, key, visit);
  }
}

// libpg-query's parser must be loaded (async) before check() runs; the collector does it
// whenever it reads pg_stat_statements, an offline snapshot needs the caller to.
function parserLoaded(): boolean {
  try {
    parseSync('SELECT 1');
    return true;
  } catch {
    return false;
  }
}

/** One line, at most 80 characters. */
function shortText(query: string): string {
  const line = query.replace(/\s+/g, ' ').trim();
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}
