/**
 * What the lock-hazard rules share: which table a statement is about, how to name it in
 * SQL, names for the objects a fix creates, and the shape of their findings.
 */
import { bodyOf, columnRef, listOf, strings, type Node } from '../advisor/parse-tree.js';
import { fitName } from '../plan/index-name.js';
import { qualify, quoteIdent } from '../plan/quote.js';
import { target, type Action, type Evidence, type MigrationFindingDraft, type MigrationStatement, type Target, type TargetKind } from '../rule.js';

/** A table by raw names; the schema is null when neither the server nor the statement gave one. */
export interface TableName {
  readonly schema: string | null;
  readonly name: string;
}

/** The table the server resolved for the statement (see MigrationStatement.target), by name. */
export function resolvedTable(statement: MigrationStatement): TableName | null {
  return statement.target && { schema: statement.target.schema, name: statement.target.name };
}

/**
 * The statement's table when it existed before this migration file: lock hazards apply only
 * there. A table created earlier in the same file has no readers or writers to block yet,
 * and a statement with no resolved table (IF EXISTS of nothing) locks nothing.
 */
export function existingTable(statement: MigrationStatement): TableName | null {
  return statement.target?.newInFile === false ? resolvedTable(statement) : null;
}

/** A RangeVar's names (`app.orders` → { schema: 'app', name: 'orders' }). */
export function rangeVarName(value: unknown): TableName | null {
  const range = value && typeof value === 'object' ? (bodyOf(value, 'RangeVar') ?? value as Node) : null;
  if (!range || typeof range.relname !== 'string') return null;
  return { schema: typeof range.schemaname === 'string' ? range.schemaname : null, name: range.relname };
}

/** A table's name for messages, unquoted (`app.orders`). */
export function tableLabel(table: TableName | null): string {
  if (!table) return 'its table';
  return table.schema === null ? table.name : `${table.schema}.${table.name}`;
}

/** The index a statement names: CREATE INDEX's (null when unnamed), DROP INDEX's first, REINDEX INDEX's. */
export function indexNamed({ kind, node }: MigrationStatement): TableName | null {
  if (kind === 'IndexStmt') return typeof node.idxname === 'string' ? { schema: rangeVarName(node.relation)?.schema ?? null, name: node.idxname } : null;
  if (kind === 'DropStmt' && node.removeType === 'OBJECT_INDEX') {
    const names = strings(listOf(node.objects)[0]);
    return names.length ? { schema: names.length > 1 ? names.at(-2)! : null, name: names.at(-1)! } : null;
  }
  return kind === 'ReindexStmt' && node.kind === 'REINDEX_OBJECT_INDEX' ? rangeVarName(node.relation) : null;
}

/** A table name as SQL, quoted, schema-qualified when the schema is known. */
export function tableSql(table: TableName): string {
  return table.schema === null ? quoteIdent(table.name) : qualify(table.schema, table.name);
}

/** A dotted name list as SQL (`['app', 'Orders']` → `app."Orders"`). */
export function namesSql(names: readonly string[]): string {
  return names.map(quoteIdent).join('.');
}

/**
 * A name for an object a fix creates, as PostgreSQL would choose it: `{table}_{columns}_{suffix}`,
 * cut to 63 bytes.
 *
 * @example objectName('orders', ['customer_id'], 'fkey') // 'orders_customer_id_fkey'
 */
export function objectName(table: string, columns: readonly string[], suffix: string): string {
  return fitName([table, ...columns].join('_'), `_${suffix}`);
}

/** Whether a generic option list (`VACUUM (FULL)`, `REINDEX (CONCURRENTLY)`) turns `name` on. */
export function hasOption(options: unknown, name: string): boolean {
  return listOf(options).some((item) => {
    const option = bodyOf(item, 'DefElem');
    if (option?.defname !== name) return false;
    const flag = bodyOf(option.arg, 'Boolean') ?? bodyOf(option.arg, 'String');
    return !flag || !(flag.boolval === false || flag.sval === 'false' || flag.sval === 'off');
  });
}

/** The names of a list of String nodes, or of IndexElems that are plain columns. */
export function columnNames(list: unknown): string[] {
  const names = strings(list);
  if (names.length) return names;
  return listOf(list).flatMap((item) => {
    const name = bodyOf(item, 'IndexElem')?.name;
    return typeof name === 'string' ? [name] : [];
  });
}

/** The distinct columns an expression refers to, in order of appearance (`a > 0 AND b < a` → a, b). */
export function referencedColumns(expression: unknown): string[] {
  const found = new Set<string>();
  const visit = (value: unknown): void => {
    if (!value || typeof value !== 'object') return;
    const name = columnRef(value)?.at(-1);
    if (name !== undefined) found.add(name);
    else for (const child of Object.values(value)) visit(child);
  };
  visit(expression);
  return [...found];
}

/**
 * A comment in fix SQL. Every line is commented, so a name or expression that spans lines
 * (a quoted identifier may hold a newline) cannot escape into the SQL.
 */
export function comment(text: string): string {
  return text.split('\n').map((line) => `-- ${line}`).join('\n');
}

/** A manual fix: runnable SQL, with comments for the steps that need a decision. */
export function manualFix(lines: readonly string[], lock: string | null, transactional: boolean): Action {
  return { kind: 'manual', sql: lines.join('\n'), transactional, lock };
}

/** A target on a table (or on an index or constraint of it), by raw names. */
export function targetOn(kind: TargetKind, table: TableName | null, fields: Partial<Pick<Target, 'name' | 'columns'>> = {}): Target {
  return target(kind, { schema: table?.schema ?? null, table: table?.name ?? null, ...fields });
}

/** A finding at a statement, with its one fix. */
export function findingAt(statement: MigrationStatement, found: Target, message: string, fix: Action, evidence: Evidence = {}): MigrationFindingDraft {
  return { line: statement.line, message, target: found, evidence, actions: [fix] };
}
