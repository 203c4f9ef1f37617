import { bodyOf, listOf, strings, type Node } from '../src/advisor/parse-tree.js';
import { alterTable, columnConstraints, constraintBody, removal, type AlterCommand, type AlterTable, type ColumnConstraint } from '../src/migrate/alter-table.js';
import type { Edit } from '../src/migrate/sql-source.js';
import { comment, existingTable, findingAt, manualFix, objectName, tableLabel, tableSql, targetOn, type TableName } from '../src/migrate/hazard.js';
import { qualify, quoteIdent, quoteLiteral } from '../src/plan/quote.js';
import { defineMigrationRule, type MigrationFindingDraft, type MigrationStatement } from '../src/rule.js';

export default defineMigrationRule({
  id: 'volatile-column-default',
  title: 'ADD COLUMN that rewrites the table',
  category: 'migrations',
  severity: 'warning',
  requires: [],
  options: {},
  docs: `
## What is wrong
\`ALTER TABLE … ADD COLUMN\` that made PostgreSQL rewrite a table that existed before the
migration: a volatile default (\`random()\`, \`clock_timestamp()\`, \`gen_random_uuid()\`), a
serial or identity column, a STORED generated column, or a domain type with constraints.

## Why it hurts
Since PostgreSQL 11 a column with a constant or stable default (\`0\`, \`'{}'\`, \`now()\`) is
added in milliseconds: the default is stored once in the catalog. A value that differs per
row has to be written into every row, so PostgreSQL writes a complete new copy of the table
and all its indexes while holding ACCESS EXCLUSIVE: no reads, no writes, roughly a minute
per few GB, plus the disk space and WAL for the full copy (replicas fall behind).

## How perfaudit detects it
The check server compares the table's relfilenode before and after the statement. When it
changed, the added columns that can cause a rewrite are reported: a default that is not a
literal or \`now()\`, IDENTITY, GENERATED … STORED, serial types; with none of those, every
added column (a domain type with constraints rewrites too). Constant and stable defaults
and PostgreSQL 18's VIRTUAL generated columns do not rewrite and are never reported.

## Fix
Instead of

    ALTER TABLE app.orders ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();

use

    ALTER TABLE app.orders ADD COLUMN token uuid;
    ALTER TABLE app.orders ALTER COLUMN token SET DEFAULT gen_random_uuid();
    -- backfill existing rows in batches, then make it NOT NULL without a scan (set-not-null-scan)

SET DEFAULT applies to new rows only and rewrites nothing. For serial: a plain integer
column, a sequence OWNED BY it, and a nextval default; for IDENTITY: a plain column,
backfilled, then \`ALTER COLUMN … ADD GENERATED … AS IDENTITY (START WITH …)\`; for a STORED
generated column: a VIRTUAL one (PostgreSQL 18, computed when read) or a trigger-maintained
plain column.

## Limits
A statement that also changes a column's type is attributed to its type change when no
added column can explain the rewrite. Which function is volatile is not known to the rule;
the rewrite itself is what the server observed.
`,
  checkMigration(migration) {
    return migration.statements
      .filter((statement) => statement.target?.rewritten === true)
      .flatMap(findings);
  },
});

type Cause = 'default' | 'serial' | 'identity' | 'stored' | 'type';
const SERIAL_TYPES: Readonly<Record<string, string>> = { smallserial: 'smallint', serial2: 'smallint', serial: 'integer', serial4: 'integer', bigserial: 'bigint', serial8: 'bigint' };
const STABLE_CALLS = new Set(['now', 'statement_timestamp', 'transaction_timestamp']);
// Constraints an added column cannot keep while it is empty (NOT NULL, PRIMARY KEY) or that fill it.
const DEFERRED = new Set(['CONSTR_DEFAULT', 'CONSTR_IDENTITY', 'CONSTR_NOTNULL', 'CONSTR_PRIMARY']);

function findings(statement: MigrationStatement): MigrationFindingDraft[] {
  const table = alterTable(statement);
  const name = existingTable(statement);
  if (!table || !name) return [];
  const added = table.commands.filter((command) => command.subtype === 'AT_AddColumn')
    .map((command) => ({ command, constraints: columnConstraints(table, command) }))
    .map((column) => ({ ...column, cause: causeOf(column.command, column.constraints) }));
  const explained = added.filter((column) => column.cause !== 'type');
  const changesType = table.commands.some((command) => command.subtype === 'AT_AlterColumnType');
  const suspects = explained.length || changesType ? explained : added;
  return suspects.map(({ command, constraints, cause }) => finding(statement, name, String(command.columnDef?.colname), cause, fixFor(cause, table, command, constraints, name)));
}

function causeOf(command: AlterCommand, constraints: readonly ColumnConstraint[]): Cause {
  const type = strings((command.columnDef?.typeName as Node | undefined)?.names);
  if (type.length === 1 && SERIAL_TYPES[type[0]!]) return 'serial';
  if (constraints.some((constraint) => constraint.type === 'CONSTR_IDENTITY')) return 'identity';
  if (constraints.some((constraint) => constraint.type === 'CONSTR_GENERATED' && constraint.node.generated_kind === 's')) return 'stored';
  const value = constraints.find((constraint) => constraint.type === 'CONSTR_DEFAULT')?.node.raw_expr;
  return value !== undefined && !isLiteralOrStable(value) ? 'default' : 'type';
}

function isLiteralOrStable(expression: unknown): boolean {
  if (bodyOf(expression, 'A_Const') || bodyOf(expression, 'SQLValueFunction')) return true;
  const cast = bodyOf(expression, 'TypeCast');
  if (cast) return isLiteralOrStable(cast.arg);
  const array = bodyOf(expression, 'A_ArrayExpr');
  if (array) return listOf(array.elements).every(isLiteralOrStable);
  const call = bodyOf(expression, 'FuncCall');
  return call !== null && listOf(call.args).length === 0 && STABLE_CALLS.has(strings(call.funcname).at(-1) ?? '');
}

function fixFor(cause: Cause, table: AlterTable, command: AlterCommand, constraints: readonly ColumnConstraint[], name: TableName): string[] {
  const column = String(command.columnDef?.colname);
  const alter = `ALTER TABLE ${tableSql(name)}`;
  const deferred = constraints.filter((constraint) => DEFERRED.has(constraint.type));
  const removals = deferred.map((constraint) => removal(table, constraint));
  const plain = table.source.edit(removals);
  const later = deferred.some((constraint) => constraint.type === 'CONSTR_NOTNULL' || constraint.type === 'CONSTR_PRIMARY') || cause === 'serial'
    ? ['-- then make it NOT NULL / the primary key without long locks (perfaudit rules set-not-null-scan, non-concurrent-index-build).']
    : [];
  if (cause === 'default') {
    const value = constraintBody(table, constraints.find((constraint) => constraint.type === 'CONSTR_DEFAULT')!, 'DEFAULT');
    return [`${plain};`, `${alter} ALTER COLUMN ${quoteIdent(column)} SET DEFAULT ${value};`,
      comment(`backfill existing rows in batches: UPDATE ${tableSql(name)} SET ${quoteIdent(column)} = ${value} WHERE ${quoteIdent(column)} IS NULL AND <key range>;`), ...later];
  }
  if (cause === 'serial') return serialFix(table, command, name, removals, later);
  if (cause === 'identity') {
    const identity = constraints.find((constraint) => constraint.type === 'CONSTR_IDENTITY')!;
    return [`${plain};`, '-- backfill existing rows in batches with unique values and make it NOT NULL without a scan (perfaudit rules set-not-null-scan), then:',
      comment(`  ${alter} ALTER COLUMN ${quoteIdent(column)} ADD GENERATED ${identity.node.generated_when === 'd' ? 'BY DEFAULT' : 'ALWAYS'} AS IDENTITY (START WITH <the largest value + 1>);`)];
  }
  if (cause === 'stored') {
    const stored = table.source.tokens.find((token) => token.keyword === 'STORED' && token.start >= command.start && token.end <= command.end);
    return [
      '-- PostgreSQL 18: a VIRTUAL generated column is computed when read and writes nothing (it cannot be indexed);',
      '-- before 18, or to index it: a plain column kept up to date by a trigger, backfilled in batches.',
      `${table.source.edit(stored ? [{ start: stored.start, end: stored.end, text: 'VIRTUAL' }] : [])};`,
    ];
  }
  return [comment(`The type of ${column} makes PostgreSQL check every row (a domain with constraints, for one):`),
    '-- add it with the base type and put the domain\'s condition in a CHECK (…) NOT VALID constraint, validated separately.'];
}

function serialFix(table: AlterTable, command: AlterCommand, name: TableName, removals: readonly Edit[], later: readonly string[]): string[] {
  const column = String(command.columnDef?.colname);
  const typeName = command.columnDef?.typeName as Node | undefined;
  const typeToken = table.source.tokens.find((token) => token.start === typeName?.location);
  const integer = SERIAL_TYPES[typeToken?.text.toLowerCase() ?? ''] ?? 'bigint';
  const plain = table.source.edit([...removals, ...(typeToken ? [{ start: typeToken.start, end: typeToken.end, text: integer }] : [])]);
  const sequence = objectName(name.name, [column], 'seq');
  const sequenceSql = name.schema === null ? quoteIdent(sequence) : qualify(name.schema, sequence);
  const nextval = `nextval(${quoteLiteral(sequenceSql)})`;
  return [
    `${plain};`,
    `CREATE SEQUENCE ${sequenceSql} AS ${integer} OWNED BY ${tableSql(name)}.${quoteIdent(column)};`,
    `ALTER TABLE ${tableSql(name)} ALTER COLUMN ${quoteIdent(column)} SET DEFAULT ${nextval};`,
    comment(`backfill existing rows in batches: UPDATE ${tableSql(name)} SET ${quoteIdent(column)} = ${nextval} WHERE ${quoteIdent(column)} IS NULL AND <key range>;`),
    ...later,
  ];
}

function finding(statement: MigrationStatement, name: TableName, column: string, cause: Cause, lines: readonly string[]): MigrationFindingDraft {
  const why: Record<Cause, string> = {
    default: 'its default differs per row', serial: 'serial numbers every row', identity: 'an identity numbers every row',
    stored: 'a STORED generated column is computed into every row', type: 'its type is checked against every row',
  };
  return findingAt(
    statement,
    targetOn('table', name, { columns: [column] }),
    `ADD COLUMN ${column} rewrote ${tableLabel(name)} under ACCESS EXCLUSIVE (no reads or writes until every row and index is copied): ${why[cause]}.`,
    manualFix(lines, 'ACCESS EXCLUSIVE', true),
    { lock: 'ACCESS EXCLUSIVE', cause },
  );
}
