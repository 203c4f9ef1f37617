import type { Lookup } from '../collect/lookup.js';
import type { Table } from '../collect/snapshot.js';
import { createIndexActions, type IndexNamer } from '../plan/index-ddl.js';
import { quoteIdent } from '../plan/quote.js';
import type { Action } from '../rule.js';
import type { Predicate } from './access.js';

/**
 * A partial index's WHERE clause from constant tests, names quoted.
 *
 * @example renderWhere(table, [{ kind: 'null', attnum: 5, isNull: true }]) // 'deleted_at IS NULL'
 */
export function renderWhere(table: Table, predicates: readonly Predicate[], lookup: Lookup): string | null {
  const terms = predicates.flatMap((p) => {
    const column = quoteIdent(lookup.columnName(table.oid, p.attnum));
    if (p.kind === 'null') return [`${column} IS ${p.isNull ? '' : 'NOT '}NULL`];
    if (p.kind === 'boolean') return [p.value ? column : `NOT ${column}`];
    return [];
  });
  return terms.length ? terms.join(' AND ') : null;
}

/**
 * The statements that build the index, partial when `where` is given: the project's
 * concurrent (or, for a partitioned table, ON ONLY + attach) builds with the WHERE clause
 * on each CREATE INDEX.
 *
 * @example CREATE INDEX CONCURRENTLY IF NOT EXISTS invoices_customer_id_idx ON app.invoices (customer_id) WHERE paid_at IS NULL;
 */
export function proposedIndexActions(
  table: Table, columns: readonly string[], where: string | null, lookup: Lookup, name: IndexNamer,
): Action[] {
  const actions = createIndexActions(table, columns, lookup, name);
  if (where === null) return actions;
  return actions.map((action) => action.sql.startsWith('CREATE INDEX ')
    ? { ...action, sql: `${action.sql.replace(/;$/, '')} WHERE ${where};` }
    : action);
}

/**
 * Whether an index predicate as PostgreSQL deparses it (`((deleted_at IS NULL) AND flagged)`)
 * says the same as ours (`deleted_at IS NULL AND flagged`): compared without parentheses
 * outside quoted names and without redundant spaces.
 */
export function samePredicate(deparsed: string | null, ours: string | null): boolean {
  if (deparsed === null || ours === null) return deparsed === ours;
  return canonical(deparsed) === canonical(ours);
}

function canonical(text: string): string {
  return text.split(/("(?:[^"]|"")*")/).map((part, i) => i % 2 ? part : part.replace(/[()]/g, ' ').replace(/\s+/g, ' '))
    .join('').trim();
}
