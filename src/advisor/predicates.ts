import { parseSync } from 'libpg-query';
import type { Snapshot } from '../collect/snapshot.js';
import type { Extraction, UpdatedColumns } from './access.js';
import { bodyOf, nodeType, type Node } from './parse-tree.js';
import { walkLevel, walkSelect, withQueries, type Walker } from './query-level.js';
import { tableResolver } from './scope.js';

const DML = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt']);

/**
 * Parses a normalized statement (pg_stat_statements text, `$n` for constants) with
 * PostgreSQL's own parser and extracts, per table it reads, the predicates an index could
 * serve: equality, range, IN/ANY, IS [NOT] NULL, boolean tests, join keys, and the ORDER BY
 * of a LIMITed query. Names are resolved against the snapshot: schemas, aliases, quoted
 * names, CTEs, subqueries, joins. Utility statements and texts the parser rejects are
 * reported as skipped, never thrown. libpg-query must be loaded (`await loadModule()`).
 *
 * @example extractShape('SELECT * FROM app.documents d WHERE d.owner_id = $1 ORDER BY uploaded_at LIMIT $2', snapshot)
 * // { ok: true, shape: { accesses: [{ tableOid, predicates: [{ kind: 'equality', attnum: 2, … }], sortAttnums: [5] }], updates: [] } }
 */
export function extractShape(text: string, snapshot: Snapshot): Extraction {
  let statements: Array<{ stmt?: unknown }>;
  try {
    statements = (parseSync(text) as { stmts?: Array<{ stmt?: unknown }> }).stmts ?? [];
  } catch (error) {
    const message = (error as Error).message;
    // A parser that was never loaded is the caller's bug, not an unparseable statement.
    if (/loadModule/.test(message)) throw new Error(`libpg-query is not loaded: await loadModule() before analysing statements (${message})`);
    return { ok: false, reason: 'unparseable', detail: message };
  }
  if (statements.length === 0) return { ok: false, reason: 'unparseable', detail: 'no statement in the text' };
  const walker: Walker = { resolve: tableResolver(snapshot), accesses: [] };
  const updates: UpdatedColumns[] = [];
  for (const { stmt } of statements) {
    const node = nodeType(stmt);
    if (!node || !DML.has(node[0])) return { ok: false, reason: 'utility', detail: node?.[0] ?? 'unknown statement' };
    const [kind, body] = node;
    if (kind === 'SelectStmt') walkSelect(walker, body, null);
    else if (kind === 'InsertStmt') walkSelect(walker, bodyOf(body.selectStmt, 'SelectStmt'), withQueries(walker, body.withClause, null));
    else {
      const relation = body.relation as Node;
      const scope = withQueries(walker, body.withClause, null);
      walkLevel(walker, {
        relation,
        from: kind === 'UpdateStmt' ? body.fromClause : body.usingClause,
        where: body.whereClause,
        others: [body.targetList, body.returningList],
      }, scope);
      if (kind === 'UpdateStmt') {
        const updated = updatedColumns(body, walker);
        if (updated) updates.push(updated);
      }
    }
  }
  return { ok: true, shape: { accesses: walker.accesses, updates } };
}

function updatedColumns(update: Node, walker: Walker): UpdatedColumns | null {
  const relation = update.relation as Node;
  const table = walker.resolve(typeof relation.schemaname === 'string' ? relation.schemaname : null, String(relation.relname));
  if (!table) return null;
  const names = new Set((update.targetList as unknown[] | undefined ?? []).map((item) => bodyOf(item, 'ResTarget')?.name));
  return { tableOid: table.oid, attnums: table.columns.filter((column) => names.has(column.name)).map((column) => column.attnum) };
}
