/**
 * The online forms of statements that build an index while blocking writes: CREATE INDEX
 * with CONCURRENTLY, and PRIMARY KEY / UNIQUE constraints over an index built beforehand.
 */
import { bodyOf, listOf, type Node } from '../advisor/parse-tree.js';
import { quoteIdent } from '../plan/quote.js';
import type { MigrationStatement } from '../rule.js';
import { columnNames, comment, objectName, tableSql, type TableName } from './hazard.js';
import { clauseText, findKeyword, insertAfterKeyword, sqlSource, terminated, type Edit, type SqlSource } from './sql-source.js';

/** Where a constraint is written in a statement. */
export interface Written {
  readonly source: SqlSource;
  readonly start: number;
  readonly end: number;
}

/** A PRIMARY KEY or UNIQUE constraint, from ADD CONSTRAINT or from a column definition. */
export interface KeyConstraint {
  readonly primary: boolean;
  /** The name it will have: its own, else the one PostgreSQL would choose. */
  readonly name: string;
  readonly keys: readonly string[];
  readonly node: Node;
  /** Its `WITH (…)` storage parameters as written. */
  readonly storage: string | null;
  readonly deferrable: boolean;
  readonly initiallyDeferred: boolean;
}

/**
 * A key constraint's parts. `written` is where its text is (for its WITH clause); `attributes`
 * are the DEFERRABLE / INITIALLY nodes written after an inline one.
 */
export function keyConstraint(node: Node, table: TableName, keys: readonly string[], written: Written, attributes: readonly string[] = []): KeyConstraint {
  const primary = node.contype === 'CONSTR_PRIMARY';
  return {
    primary,
    name: typeof node.conname === 'string' ? node.conname : objectName(table.name, primary ? [] : keys, primary ? 'pkey' : 'key'),
    keys,
    node,
    storage: clauseText(written.source, 'WITH', written.start, written.end),
    deferrable: node.deferrable === true || attributes.includes('CONSTR_ATTR_DEFERRABLE'),
    initiallyDeferred: node.initdeferred === true || attributes.includes('CONSTR_ATTR_DEFERRED'),
  };
}

/**
 * The constraint over an index built concurrently beforehand. `nullable` are the key
 * columns not known to be NOT NULL, which a primary key must make so first.
 *
 * @example
 * CREATE UNIQUE INDEX CONCURRENTLY orders_code_key ON app.orders (code);
 * ALTER TABLE app.orders ADD CONSTRAINT orders_code_key UNIQUE USING INDEX orders_code_key;
 */
export function prebuiltConstraint(table: TableName, constraint: KeyConstraint, nullable: readonly string[]): string[] {
  const { node } = constraint;
  const include = columnNames(node.including);
  const index = quoteIdent(constraint.name);
  const build = [
    `CREATE UNIQUE INDEX CONCURRENTLY ${index} ON ${tableSql(table)} (${constraint.keys.map(quoteIdent).join(', ')})`,
    include.length ? ` INCLUDE (${include.map(quoteIdent).join(', ')})` : '',
    node.nulls_not_distinct === true ? ' NULLS NOT DISTINCT' : '',
    constraint.storage === null ? '' : ` ${constraint.storage}`,
    typeof node.indexspace === 'string' ? ` TABLESPACE ${quoteIdent(node.indexspace)}` : '',
  ];
  const timing = (constraint.deferrable ? ' DEFERRABLE' : '') + (constraint.initiallyDeferred ? ' INITIALLY DEFERRED' : '');
  return [
    `${build.join('')};`,
    ...(constraint.primary && nullable.length ? [comment(`${nullable.join(', ')} must be NOT NULL first, or the next step scans the table under ACCESS EXCLUSIVE (perfaudit rules set-not-null-scan).`)] : []),
    `ALTER TABLE ${tableSql(table)} ADD CONSTRAINT ${index} ${constraint.primary ? 'PRIMARY KEY' : 'UNIQUE'} USING INDEX ${index}${timing};`,
  ];
}

/** A partitioned table refuses USING INDEX, but its ADD CONSTRAINT adopts matching constraints of the partitions. */
export function partitionedConstraint(table: TableName, constraint: KeyConstraint, statement: string): string[] {
  const keys = constraint.keys.map(quoteIdent).join(', ');
  const kind = constraint.primary ? 'PRIMARY KEY' : 'UNIQUE';
  return [
    comment(`USING INDEX is refused on a partitioned table, but ADD CONSTRAINT on ${tableSql(table)} adopts a matching constraint of each`),
    '-- partition instead of building one. First, for each partition, outside a transaction:',
    comment(`  CREATE UNIQUE INDEX CONCURRENTLY <partition index> ON <partition> (${keys});`),
    comment(`  ALTER TABLE <partition> ADD CONSTRAINT <partition index> ${kind} USING INDEX <partition index>;`),
    '-- then this statement builds nothing (ACCESS EXCLUSIVE only for a moment):',
    statement,
  ];
}

/**
 * CREATE INDEX made concurrent. On a partitioned table, which refuses CONCURRENTLY: the
 * index on the parent alone (instant, invalid until every partition has one attached), then
 * a concurrent build and an ATTACH per partition.
 */
export function concurrentIndex(statement: MigrationStatement, table: TableName, partitioned: boolean): string[] {
  const source = sqlSource(statement.text);
  if (!partitioned) return [`${insertAfterKeyword(source, 'INDEX', 'CONCURRENTLY') ?? source.slice(0)};`];
  const { node } = statement;
  const name = typeof node.idxname === 'string' ? node.idxname : objectName(table.name, listOf(node.indexParams).map(keyName), 'idx');
  const index = findKeyword(source, 'INDEX');
  const on = findKeyword(source, 'ON');
  if (!index || !on) return [terminated(statement.text)];
  const edits: Edit[] = [{ start: on.end, end: on.end, text: ' ONLY' }];
  if (typeof node.idxname !== 'string') edits.push({ start: index.end, end: index.end, text: ` ${quoteIdent(name)}` });
  const indexSql = table.schema === null ? quoteIdent(name) : `${quoteIdent(table.schema)}.${quoteIdent(name)}`;
  return [
    '-- CONCURRENTLY is refused on a partitioned table: create the index on the parent alone (instant; invalid until complete),',
    `${source.edit(edits)};`,
    '-- then, for each partition, outside a transaction:',
    comment(`  CREATE ${node.unique === true ? 'UNIQUE ' : ''}INDEX CONCURRENTLY <partition index> ON <partition> ${afterRelation(source, on)};`),
    comment(`  ALTER INDEX ${indexSql} ATTACH PARTITION <partition index>;`),
  ];
}

// The index definition after `ON [ONLY] name`: `(keys) INCLUDE … WHERE …`.
function afterRelation(source: SqlSource, on: { end: number }): string {
  const tokens = source.tokens;
  let next = tokens.findIndex((token) => token.start >= on.end);
  if (tokens[next]?.keyword === 'ONLY') next++;
  next++;
  while (tokens[next]?.text === '.') next += 2;
  const first = tokens[next];
  return first ? source.slice(first.start) : '';
}

// PostgreSQL names an expression key `expr` in a generated index name.
function keyName(param: unknown): string {
  const name = bodyOf(param, 'IndexElem')?.name;
  return typeof name === 'string' ? name : 'expr';
}
