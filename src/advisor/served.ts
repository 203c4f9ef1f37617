import type { Lookup } from '../collect/lookup.js';
import type { Index } from '../collect/snapshot.js';
import type { Candidate } from './candidates.js';
import { renderWhere, samePredicate } from './index-sql.js';
import type { Estimator } from './selectivity.js';

/**
 * The existing index that already serves a candidate, if any. A valid btree index (or a
 * hash index, for a single equality) with the same predicate or none serves it when
 *  - its leading columns are the candidate's equality columns (in any order) and then its
 *    range or sort column, if it has one; or the equality columns alone already narrow
 *    the scan to `narrowRows` rows or fewer; or
 *  - its leading columns are some of the equality columns and narrow the scan to
 *    `narrowRows` rows or fewer on their own (a primary key, a near-unique column).
 */
export function servingIndex(candidate: Candidate, lookup: Lookup, estimate: Estimator, narrowRows: number): Index | null {
  const { table } = candidate;
  const where = renderWhere(table, candidate.partial, lookup);
  const equality = candidate.layers.flat();
  const eqSet = new Set(equality);
  const rows = estimate.rows(table);
  const rowsFor = (attnums: readonly number[]) => rows * estimate.all(table,
    attnums.map((attnum) => ({ kind: 'equality', attnum, via: 'constant', listLength: null })));
  return lookup.indexesOf(table.oid).find((index) => {
    if (!index.valid || !index.ready || index.keys.length === 0) return false;
    if (index.predicate !== null && !samePredicate(index.predicate, where)) return false;
    const keys = index.keys.map((key) => (key.expression === null ? key.attnum : 0));
    if (index.method === 'hash') return equality.length === 1 && keys[0] === equality[0];
    if (index.method !== 'btree') return false;
    let prefix = 0;
    while (prefix < keys.length && eqSet.has(keys[prefix]!)) prefix++;
    const leading = keys.slice(0, prefix);
    if (prefix === equality.length && prefix > 0 || (equality.length === 0 && candidate.trailing)) {
      const next = keys[prefix];
      return !candidate.trailing || next === candidate.trailing.attnum || (prefix > 0 && rowsFor(leading) <= narrowRows);
    }
    return prefix > 0 && (rowsFor(leading) <= narrowRows || (index.unique && prefix === keys.length));
  }) ?? null;
}
