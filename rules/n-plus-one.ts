import { lookup } from '../src/collect/lookup.js';
import type { Snapshot, Statement, Table } from '../src/collect/snapshot.js';
import { parserUnavailable, statementShape, type SingleTableSelect } from '../src/collect/statement-shape.js';
import { hiddenStatementsNote } from '../src/collect/visibility.js';
import { formatCount } from '../src/plan/numbers.js';
import { qualify, quoteIdent } from '../src/plan/quote.js';
import { defineRule, target, type FindingDraft } from '../src/rule.js';

type KeyKind = 'primary key' | 'foreign key';

interface KeyLookup {
  readonly table: Table;
  readonly column: string;
  readonly param: number;
  readonly kind: KeyKind;
  readonly shape: SingleTableSelect;
}

export default defineRule({
  id: 'n-plus-one',
  title: 'Row-by-row lookup called in a loop (N+1 queries)',
  category: 'queries',
  severity: 'warning',
  requires: ['pg_stat_statements'],
  options: {
    /** Fewer calls than this are not a loop worth batching. */
    minCalls: 100,
    /** Rows returned per call, on average, at most (0 to 1 for existence checks). */
    maxRowsPerCall: 1.5,
  },
  docs: `
## What is wrong
The application runs one query per row it already has: it loads a list, then loops over
it and fetches each item's parent (by primary key) or each item's children (by foreign
key) with a separate statement. N items cost N + 1 round trips.

## Why it hurts
Each call is fast on its own, so nothing shows up as slow; the cost is in the count. A
page listing 200 orders that loads each customer separately makes 201 round trips: at
0.5 ms of network and parsing per trip that is 100 ms of latency, where one batched
query takes 2 ms. Under load the calls also queue for connections and hold locks longer.

## How perfaudit detects it
From \`pg_stat_statements\`: a statement called at least \`minCalls\` times that returns at
most \`maxRowsPerCall\` rows per call on average, and that PostgreSQL's parser shows to be a
SELECT from a single table (no join, subquery, CTE or set operation) whose WHERE clause is
nothing but \`column = $n\` conjuncts, one of them on the table's single-column primary key
or on a single-column foreign key. Names resolve to the snapshot's tables: qualified names
exactly, unqualified names by table name, preferring \`public\` when several schemas have it.

## Fix
A \`manual\` step, because the fix is in the application: fetch all the keys at once with
\`WHERE column = ANY($1)\` and an array of keys (the rule writes that statement from the
original), or join the table into the query that produced the keys. ORMs call this eager
loading (\`includes\`, \`select_related\`, \`JOIN FETCH\`, \`with\`).

## Limits
Statistics cannot tell a loop from many independent requests (one lookup per HTTP
request is fine): read the calling code before changing it. Lookups by a unique column
that is not a key, by composite keys, or by expressions are not recognized, and neither are
loops of writes. Constants are normalized to \`$n\` too, so \`WHERE id = 42\` counts.
Offline snapshots need the SQL parser loaded before the rule runs, else the rule is skipped.
`,
  skipReason: (snapshot) => snapshot.workload.unavailable ?? (snapshot.workload.statements.length > 0 ? parserUnavailable() : null),
  coverageGap: hiddenStatementsNote,
  check(snapshot, options) {
    const keyOf = keyLookups(snapshot);
    return snapshot.workload.statements
      .filter((statement) => statement.calls >= options.minCalls && statement.rows / statement.calls <= options.maxRowsPerCall)
      .flatMap((statement): FindingDraft[] => {
        const found = keyOf(statement);
        if (!found) return [];
        const { table, column, kind } = found;
        const name = `${table.schema}.${table.name}`;
        const rowsPerCall = statement.rows / statement.calls;
        return [{
          message: `${name} is read one ${column} (${kind}) at a time: ${formatCount(statement.calls)} calls of ${round(rowsPerCall, 2)} `
            + `${rowsPerCall === 1 ? 'row' : 'rows'} each; fetch them in one query with ${column} = ANY($1), or join.`,
          target: target('query', { schema: table.schema, table: table.name, columns: [column], query: statement.query }),
          evidence: {
            queryId: statement.queryId,
            calls: statement.calls,
            rowsPerCall: round(rowsPerCall, 2),
            meanTimeMs: round(statement.meanTimeMs, 3),
            totalTimeMs: round(statement.totalTimeMs, 1),
            table: name,
            column,
            kind,
          },
          actions: [{ kind: 'manual', sql: advice(statement, found), transactional: true, lock: null }],
        }];
      });
  },
});

/** Resolves a statement to a key lookup on one of the snapshot's tables, or null. */
function keyLookups(snapshot: Snapshot): (statement: Statement) => KeyLookup | null {
  const catalog = lookup(snapshot);
  const byName = new Map<string, Table[]>();
  for (const table of snapshot.tables) byName.set(table.name, [...(byName.get(table.name) ?? []), table]);
  const resolve = (schema: string | null, name: string): Table | undefined => {
    const candidates = (byName.get(name) ?? []).filter((table) => schema === null || table.schema === schema);
    return candidates.length === 1 ? candidates[0] : candidates.find((table) => table.schema === 'public');
  };
  return (statement) => {
    const shape = statementShape(statement.query)?.singleTable;
    const table = shape?.equalities && resolve(shape.schema, shape.table);
    if (!shape?.equalities || !table) return null;
    const primary = snapshot.indexes.find((index) => index.tableOid === table.oid && index.primary);
    const pkColumn = primary?.keys.length === 1 && primary.keys[0]!.attnum > 0 ? catalog.columnName(table.oid, primary.keys[0]!.attnum) : null;
    const fkColumns = new Set(snapshot.foreignKeys
      .filter((fk) => fk.tableOid === table.oid && fk.columns.length === 1)
      .map((fk) => catalog.columnName(table.oid, fk.columns[0]!)));
    const byPk = shape.equalities.find((equality) => equality.column === pkColumn);
    const byFk = shape.equalities.find((equality) => fkColumns.has(equality.column));
    const key = byPk ?? byFk;
    return key ? { table, column: key.column, param: key.param, kind: byPk ? 'primary key' : 'foreign key', shape } : null;
  };
}

/**
 * The loop, and the batched statement written from the original.
 * @example SELECT id, name FROM app.customers WHERE id = $1
 *   → SELECT id, name FROM app.customers WHERE id = ANY($1::bigint[]);
 */
function advice(statement: Statement, found: KeyLookup): string {
  return [
    `-- ${formatCount(statement.calls)} calls of: ${statement.query.replace(/\s+/g, ' ').trim()}`,
    `-- The application fetches ${found.table.schema}.${found.table.name} one ${found.column} at a time, in a loop over rows it already has.`,
    '-- Collect the keys first and fetch them all in one query, passing an array:',
    batched(found),
    ...(found.shape.hasLimit ? ['-- (Its LIMIT was per key; the batched query returns every match: keep the first per key in the application.)'] : []),
    '-- Or join the table into the query that produced the keys. ORMs call this eager loading.',
  ].join('\n');
}

/** `SELECT … FROM t WHERE col = ANY($n::type[]) [AND other = $m] [GROUP BY col]`, the key column in the select list. */
function batched({ table, column, param, shape }: KeyLookup): string {
  const key = quoteIdent(column);
  const type = table.columns.find((candidate) => candidate.name === column)?.type;
  const existence = shape.targets.every((t) => t.kind === 'constant');
  const hasKey = shape.targets.some((t) => t.kind === 'star' || (t.kind === 'column' && t.name === column));
  const grouped = shape.targets.some((t) => t.kind === 'aggregate');
  const list = existence ? `DISTINCT ${key}` : hasKey ? shape.selectList : `${key}, ${shape.selectList}`;
  const conditions = [
    `${key} = ANY($${param}${type ? `::${type}[]` : ''})`,
    ...(shape.equalities ?? []).filter((e) => e.column !== column).map((e) => `${quoteIdent(e.column)} = $${e.param}`),
  ];
  return `SELECT ${list} FROM ${qualify(table.schema, table.name)}${shape.alias ? ` ${quoteIdent(shape.alias)}` : ''} `
    + `WHERE ${conditions.join(' AND ')}${grouped ? ` GROUP BY ${key}` : ''};`;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
