import type { Predicate } from './access.js';
import { bodyOf, columnRef, isConstant, listOf, nodeType, strings, type Node } from './parse-tree.js';
import { resolveColumn, type ResolvedColumn, type Scope, type ScopeEntry } from './scope.js';

/** A predicate on a table of this query level. */
export interface LocalPredicate {
  readonly entry: ScopeEntry;
  readonly predicate: Predicate;
}

const RANGE_OPERATORS = new Set(['<', '<=', '>', '>=']);
/** OR-expansion stops here: a WHERE with more branches keeps only its top-level AND terms. */
const MAX_BRANCHES = 16;

/**
 * A WHERE clause in disjunctive normal form: each branch is a list of conjuncts, and a
 * row matches when some branch matches. `a = 1 AND (b = 2 OR c = 3)` → [[a=1, b=2], [a=1, c=3]].
 */
export function orBranches(where: unknown): unknown[][] {
  if (where === undefined || where === null) return [[]];
  return expand(where) ?? [topLevelConjuncts(where).filter((term) => boolOp(term)?.[0] !== 'OR_EXPR')];
}

function expand(node: unknown): unknown[][] | null {
  const op = boolOp(node);
  if (op?.[0] === 'OR_EXPR') {
    const branches: unknown[][] = [];
    for (const arg of op[1]) {
      const sub = expand(arg);
      if (!sub) return null;
      branches.push(...sub);
    }
    return branches.length > MAX_BRANCHES ? null : branches;
  }
  if (op?.[0] === 'AND_EXPR') {
    let branches: unknown[][] = [[]];
    for (const arg of op[1]) {
      const sub = expand(arg);
      if (!sub) return null;
      branches = branches.flatMap((left) => sub.map((right) => [...left, ...right]));
      if (branches.length > MAX_BRANCHES) return null;
    }
    return branches;
  }
  return [[node]];
}

function topLevelConjuncts(node: unknown): unknown[] {
  const op = boolOp(node);
  return op?.[0] === 'AND_EXPR' ? op[1].flatMap(topLevelConjuncts) : [node];
}

function boolOp(node: unknown): [string, readonly unknown[]] | null {
  const expr = bodyOf(node, 'BoolExpr');
  return expr ? [String(expr.boolop), listOf(expr.args)] : null;
}

/** The indexable predicates one conjunct puts on tables of this query level. */
export function classify(conjunct: unknown, scope: Scope): LocalPredicate[] {
  const node = nodeType(conjunct);
  if (!node) return [];
  const [type, body] = node;
  const local = (value: unknown): ResolvedColumn | null => {
    const column = resolveColumn(scope, value);
    return column?.local ? column : null;
  };
  const on = (column: ResolvedColumn | null, predicate: (attnum: number) => Predicate): LocalPredicate[] =>
    column ? [{ entry: column.entry, predicate: predicate(column.attnum) }] : [];
  switch (type) {
    case 'A_Expr':
      return classifyOperator(body, scope, local, on);
    case 'NullTest':
      return on(local(body.arg), (attnum) => ({ kind: 'null', attnum, isNull: body.nulltesttype === 'IS_NULL' }));
    case 'BooleanTest': {
      const test = String(body.booltesttype);
      if (test !== 'IS_TRUE' && test !== 'IS_FALSE') return [];
      return on(booleanColumn(local(body.arg)), (attnum) => ({ kind: 'boolean', attnum, value: test === 'IS_TRUE' }));
    }
    case 'ColumnRef':
      return on(booleanColumn(local(conjunct)), (attnum) => ({ kind: 'boolean', attnum, value: true }));
    case 'BoolExpr': {
      const [arg] = listOf(body.args);
      if (body.boolop !== 'NOT_EXPR' || !columnRef(arg)) return [];
      return on(booleanColumn(local(arg)), (attnum) => ({ kind: 'boolean', attnum, value: false }));
    }
    case 'SubLink': {
      // `col IN (SELECT …)`: a semi-join on col.
      const operator = strings(body.operName)[0] ?? '=';
      if (body.subLinkType !== 'ANY_SUBLINK' || operator !== '=') return [];
      return on(local(body.testexpr), (attnum) => ({ kind: 'equality', attnum, via: 'join', listLength: null }));
    }
    default:
      return [];
  }
}

type On = (column: ResolvedColumn | null, predicate: (attnum: number) => Predicate) => LocalPredicate[];

function classifyOperator(expr: Node, scope: Scope, local: (value: unknown) => ResolvedColumn | null, on: On): LocalPredicate[] {
  const operator = strings(expr.name).at(-1) ?? '';
  const kind = String(expr.kind);
  if (kind === 'AEXPR_IN' && operator === '=' && isConstant(expr.rexpr)) {
    const listLength = listOf(expr.rexpr).length;
    return on(local(expr.lexpr), (attnum) => ({ kind: 'equality', attnum, via: 'list', listLength }));
  }
  if (kind === 'AEXPR_OP_ANY' && operator === '=' && isConstant(expr.rexpr)) {
    return on(local(expr.lexpr), (attnum) => ({ kind: 'equality', attnum, via: 'list', listLength: null }));
  }
  if ((kind === 'AEXPR_BETWEEN' || kind === 'AEXPR_BETWEEN_SYM') && isConstant(expr.rexpr)) {
    return on(local(expr.lexpr), (attnum) => ({ kind: 'range', attnum, bounded: true }));
  }
  if (kind !== 'AEXPR_OP' || (operator !== '=' && !RANGE_OPERATORS.has(operator))) return [];
  const left = resolveColumn(scope, expr.lexpr);
  const right = resolveColumn(scope, expr.rexpr);
  if (left && right) {
    // A join key: each side of this level is probed by the other's value.
    if (operator !== '=' || (left.entry === right.entry && left.local && right.local)) return [];
    return [left, right].flatMap((column) =>
      on(column.local ? column : null, (attnum) => ({ kind: 'equality', attnum, via: 'join', listLength: null })));
  }
  const [column, other] = left ? [left, expr.rexpr] : [right, expr.lexpr];
  if (!column?.local || !isConstant(other)) return [];
  if (operator === '=') {
    const literal = booleanLiteral(other);
    if (literal !== null && isBoolean(column)) return on(column, (attnum) => ({ kind: 'boolean', attnum, value: literal }));
    return on(column, (attnum) => ({ kind: 'equality', attnum, via: 'constant', listLength: null }));
  }
  return on(column, (attnum) => ({ kind: 'range', attnum, bounded: false }));
}

function booleanColumn(column: ResolvedColumn | null): ResolvedColumn | null {
  return column && isBoolean(column) ? column : null;
}

function isBoolean(column: ResolvedColumn): boolean {
  return column.table.columns.find((c) => c.attnum === column.attnum)?.type === 'boolean';
}

// pg_stat_statements turns `col = true` into `col = $1`; a literal survives only in texts
// that did not come through it (hand-written statements, tests).
function booleanLiteral(value: unknown): boolean | null {
  const constant = bodyOf(value, 'A_Const');
  const boolval = bodyOf(constant?.boolval, 'Boolean') ?? (constant?.boolval as Node | undefined);
  if (!constant || !('boolval' in constant)) return null;
  return Boolean(boolval?.boolval);
}
