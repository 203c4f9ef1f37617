import { hasSqlDetails, loadModule, parseSync, scanSync } from 'libpg-query';

/**
 * The simple shape of one normalized statement text (from pg_stat_statements), as
 * PostgreSQL's own parser (libpg-query) sees it: what kind of statement it is and, for a
 * SELECT that reads a single table, that table, its WHERE equalities and its select list.
 *
 * libpg-query parses synchronously only once its WASM module is loaded. Collection loads
 * it (the redactor calls loadModule()) whenever it reads pg_stat_statements; anything else
 * (an offline snapshot, a unit test) must `await loadStatementParser()` first. Rules, which
 * are pure and synchronous, call parserUnavailable() in skipReason to say so instead.
 */
export interface StatementShape {
  /** Parse-tree node type, e.g. `SelectStmt`, `VariableSetStmt`. */
  readonly kind: string;
  /** Not a query: DDL, COPY, VACUUM, SET, transaction control, EXPLAIN, SELECT INTO… */
  readonly utility: boolean;
  /** Set for a plain SELECT that reads exactly one table (no join, subquery, CTE or set operation). */
  readonly singleTable: SingleTableSelect | null;
}

export interface SingleTableSelect {
  readonly schema: string | null;
  readonly table: string;
  readonly alias: string | null;
  /** The WHERE clause as `col = $n` conjuncts; null when it holds anything else (or is absent). */
  readonly equalities: readonly ParamEquality[] | null;
  /** The select list's source text, as written (normalized). */
  readonly selectList: string;
  readonly targets: readonly TargetShape[];
  readonly hasLimit: boolean;
}

export interface ParamEquality {
  readonly column: string;
  /** The parameter number: 1 for `$1`. */
  readonly param: number;
}

export type TargetShape =
  | { readonly kind: 'star' }
  | { readonly kind: 'column'; readonly name: string }
  | { readonly kind: 'constant' }
  | { readonly kind: 'aggregate' }
  | { readonly kind: 'expression' };

/** Loads the parser; once per process, before the first statementShape(). */
export async function loadStatementParser(): Promise<void> {
  await loadModule();
}

/** Why statements cannot be parsed right now (the parser is not loaded), or null. */
export function parserUnavailable(): string | null {
  try {
    parseSync('SELECT 1');
    return null;
  } catch (error) {
    return `the SQL parser is not loaded (${(error as Error).message})`;
  }
}

type Node = Record<string, unknown>;

// Statements that do the application's work; everything else is a utility statement.
const QUERY_KINDS = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt', 'CallStmt']);
// Common aggregates: a batched version of a statement using them needs GROUP BY.
const AGGREGATES = new Set(['count', 'sum', 'avg', 'min', 'max', 'bool_and', 'bool_or', 'every', 'array_agg', 'string_agg', 'json_agg', 'jsonb_agg']);

// Several rules and the report ask for the shapes of the same few thousand statements:
// each text is parsed once per process.
const shapes = new Map<string, StatementShape | null>();

/**
 * Parses one statement text; null when it does not parse (a withheld text, say) or holds
 * other than one statement. Throws when the parser is not loaded.
 *
 * @example statementShape('SELECT id FROM app.users WHERE id = $1')
 * // { kind: 'SelectStmt', utility: false, singleTable: { schema: 'app', table: 'users',
 * //   equalities: [{ column: 'id', param: 1 }], selectList: 'id', … } }
 */
export function statementShape(text: string): StatementShape | null {
  let shape = shapes.get(text);
  if (shape === undefined) {
    shape = parseShape(text);
    shapes.set(text, shape);
  }
  return shape;
}

function parseShape(text: string): StatementShape | null {
  // libpg-query rejects an empty text with a plain error, not a syntax error.
  if (text === '') return null;
  let stmts: Array<{ stmt?: Node }>;
  try {
    stmts = (parseSync(text) as { stmts?: Array<{ stmt?: Node }> }).stmts ?? [];
  } catch (error) {
    if (hasSqlDetails(error)) return null;
    throw error;
  }
  if (stmts.length !== 1) return null;
  const [kind, node] = Object.entries(stmts[0]?.stmt ?? {})[0] ?? [];
  if (!kind || !node) return null;
  const select = node as Node;
  const utility = !QUERY_KINDS.has(kind) || (kind === 'SelectStmt' && select.intoClause !== undefined);
  return { kind, utility, singleTable: utility || kind !== 'SelectStmt' ? null : singleTable(select, text) };
}

function singleTable(select: Node, text: string): SingleTableSelect | null {
  const from = select.fromClause as Node[] | undefined;
  const rangeVar = from?.length === 1 ? (from[0]?.RangeVar as Node | undefined) : undefined;
  if (!rangeVar || select.op !== 'SETOP_NONE' || select.withClause || countRangeVars(select) !== 1) return null;
  const table = String(rangeVar.relname);
  const alias = ((rangeVar.alias as Node | undefined)?.aliasname as string | undefined) ?? null;
  const qualifiers = new Set([alias ?? table, ...(typeof rangeVar.schemaname === 'string' && !alias ? [`${rangeVar.schemaname}.${table}`] : [])]);
  const targets = ((select.targetList ?? []) as Node[]).map((target) => targetShape((target.ResTarget as Node).val as Node, qualifiers));
  const firstTarget = Number(((select.targetList as Node[])[0]?.ResTarget as Node | undefined)?.location ?? 0);
  return {
    schema: typeof rangeVar.schemaname === 'string' ? rangeVar.schemaname : null,
    table,
    alias,
    equalities: select.whereClause ? equalities(select.whereClause as Node, qualifiers) : null,
    selectList: selectListText(text, firstTarget, Number(rangeVar.location)),
    targets,
    hasLimit: select.limitCount !== undefined,
  };
}

/** The conjuncts of a WHERE clause if each is `col = $n` (or `$n = col`, with casts on $n). */
function equalities(where: Node, qualifiers: ReadonlySet<string>): ParamEquality[] | null {
  const bool = where.BoolExpr as Node | undefined;
  const conjuncts = bool ? (bool.boolop === 'AND_EXPR' ? (bool.args as Node[]) : null) : [where];
  if (!conjuncts) return null;
  const found: ParamEquality[] = [];
  for (const conjunct of conjuncts) {
    const expr = conjunct.A_Expr as Node | undefined;
    const operator = ((expr?.name as Node[] | undefined)?.[0]?.String as Node | undefined)?.sval;
    if (!expr || expr.kind !== 'AEXPR_OP' || operator !== '=' || (expr.name as Node[]).length !== 1) return null;
    const left = expr.lexpr as Node;
    const right = expr.rexpr as Node;
    const column = columnName(left, qualifiers) ?? columnName(right, qualifiers);
    const param = paramNumber(right) ?? paramNumber(left);
    if (column === null || param === null) return null;
    found.push({ column, param });
  }
  return found;
}

function columnName(node: Node, qualifiers: ReadonlySet<string>): string | null {
  const fields = (node.ColumnRef as Node | undefined)?.fields as Node[] | undefined;
  const names = fields?.map((field) => (field.String as Node | undefined)?.sval);
  if (!names || names.some((name) => typeof name !== 'string')) return null; // A_Star
  const qualifier = names.slice(0, -1).join('.');
  return qualifier === '' || qualifiers.has(qualifier) ? String(names.at(-1)) : null;
}

function paramNumber(node: Node): number | null {
  const inner = ((node.TypeCast as Node | undefined)?.arg as Node | undefined) ?? node;
  const param = inner.ParamRef as Node | undefined;
  return param ? Number(param.number) : null;
}

function targetShape(value: Node, qualifiers: ReadonlySet<string>): TargetShape {
  const fields = (value.ColumnRef as Node | undefined)?.fields as Node[] | undefined;
  if (fields?.at(-1)?.A_Star) return { kind: 'star' };
  const column = columnName(value, qualifiers);
  if (column !== null) return { kind: 'column', name: column };
  const uncast = ((value.TypeCast as Node | undefined)?.arg as Node | undefined) ?? value;
  if (uncast.A_Const || uncast.ParamRef) return { kind: 'constant' };
  const call = value.FuncCall as Node | undefined;
  const name = ((call?.funcname as Node[] | undefined)?.at(-1)?.String as Node | undefined)?.sval;
  if (call && (call.agg_star || (typeof name === 'string' && AGGREGATES.has(name)))) return { kind: 'aggregate' };
  return { kind: 'expression' };
}

/** Text from the first target up to the FROM keyword before the table (byte offsets, by the scanner). */
function selectListText(text: string, start: number, tableAt: number): string {
  const from = scanSync(text).tokens.filter((token) => token.end <= tableAt && token.text.toUpperCase() === 'FROM').at(-1);
  return Buffer.from(text).subarray(start, from?.start ?? tableAt).toString().trim();
}

function countRangeVars(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + countRangeVars(item), 0);
  if (value === null || typeof value !== 'object') return 0;
  return Object.entries(value).reduce((sum, [key, child]) => sum + (key === 'RangeVar' ? 1 : 0) + countRangeVars(child), 0);
}
