import type { Predicate, TableAccess } from './access.js';
import { classify, orBranches, type LocalPredicate } from './conditions.js';
import { bodyOf, forEachSubLink, listOf, strings, type Node } from './parse-tree.js';
import {
  addOpaque, addRangeVar, childScope, fromItems, resolveColumn, type Scope, type ScopeEntry, type TableResolver,
} from './scope.js';

/** One query level: a SELECT's FROM, WHERE, ORDER BY and LIMIT, or an UPDATE's or DELETE's. */
export interface Level {
  readonly relation?: Node | undefined;
  readonly from: unknown;
  readonly where: unknown;
  /** Expressions that may hold subqueries (target list, HAVING, SET values). */
  readonly others: readonly unknown[];
  readonly sort?: unknown;
  readonly limited?: boolean;
  /** `col IN (SELECT x …)`: x is probed by the outer rows, a join key of this level. */
  readonly linkedTarget?: unknown;
}

export interface Walker {
  readonly resolve: TableResolver;
  readonly accesses: TableAccess[];
}

interface JoinQual { readonly node: unknown; readonly onlyFor: ReadonlySet<ScopeEntry> | null }

/** Walks a SelectStmt (set operations, CTEs and subqueries included), recording table accesses. */
export function walkSelect(walker: Walker, select: Node | null, parent: Scope | null, linked = false): void {
  if (!select) return;
  const ctes = withQueries(walker, select.withClause, parent);
  if (select.op !== undefined && select.op !== 'SETOP_NONE') {
    walkSelect(walker, bodyOf(select.larg, 'SelectStmt') ?? (select.larg as Node), ctes);
    walkSelect(walker, bodyOf(select.rarg, 'SelectStmt') ?? (select.rarg as Node), ctes);
    return;
  }
  const target = linked ? bodyOf(listOf(select.targetList)[0], 'ResTarget')?.val : undefined;
  walkLevel(walker, {
    from: select.fromClause, where: select.whereClause,
    others: [select.targetList, select.havingClause],
    sort: select.sortClause, limited: select.limitCount !== undefined, linkedTarget: target,
  }, ctes);
}

/** Walks one level's CTEs and returns the scope that sees their names. */
export function withQueries(walker: Walker, withClause: unknown, parent: Scope | null): Scope {
  const ctes = listOf(bodyOf(withClause, 'WithClause')?.ctes ?? (withClause as Node | undefined)?.ctes)
    .flatMap((item): Node[] => {
      const cte = bodyOf(item, 'CommonTableExpr');
      return cte ? [cte] : [];
    });
  const scope = childScope(parent, ctes.map((cte) => String(cte.ctename)));
  for (const cte of ctes) walkSelect(walker, bodyOf(cte.ctequery, 'SelectStmt'), scope);
  return scope;
}

export function walkLevel(walker: Walker, level: Level, outer: Scope): void {
  const scope = childScope(outer, []);
  const joinQuals: JoinQual[] = [];
  const direct: LocalPredicate[] = [];
  if (level.relation) addRangeVar(scope, level.relation, walker.resolve);
  for (const item of fromItems(level.from)) addFrom(walker, item, scope, joinQuals, direct);
  const linked = level.linkedTarget === undefined ? null : resolveColumn(scope, level.linkedTarget);
  if (linked?.local) direct.push({ entry: linked.entry, predicate: { kind: 'equality', attnum: linked.attnum, via: 'join', listLength: null } });

  forEachSubLink([...level.others, level.where, joinQuals.map((qual) => qual.node)], (subLink) =>
    walkSelect(walker, bodyOf(subLink.subselect, 'SelectStmt'), scope, subLink.subLinkType === 'ANY_SUBLINK'));

  const joined = [
    ...direct,
    ...joinQuals.flatMap((qual) => splitAnd(qual.node).flatMap((node) => classify(node, scope))
      .filter((found) => qual.onlyFor === null || qual.onlyFor.has(found.entry))),
  ];
  const branches = orBranches(level.where).map((branch) => [...joined, ...branch.flatMap((node) => classify(node, scope))]);
  const sort = level.limited ? sortColumns(level.sort, scope) : null;
  for (const entry of scope.entries) {
    if (!entry.table) continue;
    const perBranch = branches.map((branch) => branch.filter((found) => found.entry === entry).map((found) => found.predicate));
    const sortAttnums = sort?.entry === entry ? sort.attnums : [];
    for (const predicates of accessPredicates(perBranch)) {
      if (predicates.length > 0 || sortAttnums.length > 0) walker.accesses.push({ tableOid: entry.table.oid, predicates, sortAttnums });
    }
  }
}

// Each OR branch is its own way into the table (a BitmapOr), unless some branch puts no
// condition on the table: then it is scanned anyway, and only the terms common to all
// branches narrow it.
function accessPredicates(perBranch: readonly Predicate[][]): Predicate[][] {
  const key = (predicate: Predicate) => JSON.stringify(predicate);
  const unique = (predicates: readonly Predicate[]) => [...new Map(predicates.map((p) => [key(p), p])).values()];
  if (perBranch.some((predicates) => predicates.length === 0)) {
    const [first = [], ...rest] = perBranch;
    return [unique(first.filter((p) => rest.every((other) => other.some((o) => key(o) === key(p)))))];
  }
  return [...new Map(perBranch.map((predicates) => {
    const set = unique(predicates);
    return [set.map(key).sort().join('|'), set] as const;
  })).values()];
}

function addFrom(walker: Walker, [type, body]: [string, Node], scope: Scope, quals: JoinQual[], direct: LocalPredicate[]): void {
  if (type === 'RangeVar') return addRangeVar(scope, body, walker.resolve);
  if (type === 'RangeSubselect') {
    walkSelect(walker, bodyOf(body.subquery, 'SelectStmt'), body.lateral ? scope : scope.parent);
    return addOpaque(scope, body.alias);
  }
  if (type !== 'JoinExpr') return addOpaque(scope, body.alias);
  const start = scope.entries.length;
  for (const item of fromItems([body.larg])) addFrom(walker, item, scope, quals, direct);
  const middle = scope.entries.length;
  for (const item of fromItems([body.rarg])) addFrom(walker, item, scope, quals, direct);
  const left = scope.entries.slice(start, middle);
  const right = scope.entries.slice(middle);
  // ON terms narrow the inner side of an outer join, both sides of an inner join.
  const onlyFor = body.jointype === 'JOIN_LEFT' ? new Set(right) : body.jointype === 'JOIN_RIGHT' ? new Set(left) : null;
  if (body.jointype === 'JOIN_FULL') return;
  if (body.quals !== undefined) quals.push({ node: body.quals, onlyFor });
  for (const name of strings(body.usingClause)) {
    for (const side of [left, right]) {
      const entry = side.find((candidate) => candidate.table?.columns.some((column) => column.name === name));
      const attnum = entry?.table?.columns.find((column) => column.name === name)?.attnum;
      if (entry && attnum !== undefined && (onlyFor === null || onlyFor.has(entry))) {
        direct.push({ entry, predicate: { kind: 'equality', attnum, via: 'join', listLength: null } });
      }
    }
  }
}

function splitAnd(node: unknown): unknown[] {
  const expr = bodyOf(node, 'BoolExpr');
  return expr?.boolop === 'AND_EXPR' ? listOf(expr.args).flatMap(splitAnd) : [node];
}

// The leading ORDER BY keys that are plain columns of one table.
function sortColumns(sortClause: unknown, scope: Scope): { entry: ScopeEntry; attnums: number[] } | null {
  let found: { entry: ScopeEntry; attnums: number[] } | null = null;
  for (const item of listOf(sortClause)) {
    const column = resolveColumn(scope, bodyOf(item, 'SortBy')?.node);
    if (!column?.local || (found && found.entry !== column.entry)) break;
    found ??= { entry: column.entry, attnums: [] };
    found.attnums.push(column.attnum);
  }
  return found;
}
