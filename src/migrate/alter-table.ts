import { parseSync } from 'libpg-query';
import { bodyOf, listOf, type Node } from '../advisor/parse-tree.js';
import { quoteIdent } from '../plan/quote.js';
import type { MigrationStatement } from '../rule.js';
import { sqlSource, type Edit, type SqlSource, type SqlToken } from './sql-source.js';

/** One subcommand of an ALTER TABLE, with where its text is. */
export interface AlterCommand {
  /** `AT_AddColumn`, `AT_AddConstraint`, `AT_SetNotNull`, `AT_AlterColumnType`, … */
  readonly subtype: string;
  /** The column a column subcommand names (`ALTER COLUMN x …`). */
  readonly column: string | null;
  /** The ColumnDef of ADD COLUMN and ALTER COLUMN TYPE. */
  readonly columnDef: Node | null;
  /** The Constraint of ADD CONSTRAINT. */
  readonly constraint: Node | null;
  /** Byte span of the subcommand in the statement text. */
  readonly start: number;
  readonly end: number;
}

/** A constraint written into a column definition (`… REFERENCES p`, `… DEFAULT now()`), with its span. */
export interface ColumnConstraint {
  /** `CONSTR_FOREIGN`, `CONSTR_DEFAULT`, … */
  readonly type: string;
  readonly node: Node;
  /** The DEFERRABLE / INITIALLY attributes written after it (`CONSTR_ATTR_DEFERRABLE`, …). */
  readonly attributes: readonly string[];
  /** From its first token (`CONSTRAINT name` included) to its last (trailing attributes included). */
  readonly start: number;
  readonly end: number;
}

export interface AlterTable {
  readonly source: SqlSource;
  readonly commands: readonly AlterCommand[];
  /** The statement text without the given commands; null when none would be left. */
  without(removed: readonly AlterCommand[]): string | null;
}

/**
 * An ALTER TABLE statement split into its subcommands by token positions: the statement is
 * parsed again on its own so node locations are offsets into its text.
 */
export function alterTable(statement: MigrationStatement): AlterTable | null {
  if (statement.kind !== 'AlterTableStmt') return null;
  const node = reparsed(statement.text);
  const source = sqlSource(statement.text);
  const spans = commandSpans(source, node?.relation);
  const cmds = listOf(node?.cmds).map((cmd) => bodyOf(cmd, 'AlterTableCmd') ?? {});
  if (!spans || spans.length !== cmds.length) return null;
  const commands = cmds.map((cmd, index): AlterCommand => ({
    subtype: String(cmd.subtype),
    column: typeof cmd.name === 'string' ? cmd.name : null,
    columnDef: bodyOf(cmd.def, 'ColumnDef'),
    constraint: bodyOf(cmd.def, 'Constraint'),
    ...spans[index]!,
  }));
  const head = source.slice(0, commands[0]?.start ?? 0);
  return {
    source,
    commands,
    without(removed) {
      const kept = commands.filter((command) => !removed.includes(command));
      return kept.length ? head + kept.map((command) => source.slice(command.start, command.end)).join(', ') : null;
    },
  };
}

function reparsed(text: string): Node | null {
  try {
    return bodyOf(parseSync(text).stmts?.[0]?.stmt, 'AlterTableStmt');
  } catch {
    return null;
  }
}

// After `ALTER TABLE [IF EXISTS] [ONLY] name [*]` come the subcommands, separated by
// top-level commas.
function commandSpans(source: SqlSource, relation: unknown): Array<{ start: number; end: number }> | null {
  const location = (relation as Node | undefined)?.location;
  let next = source.tokens.findIndex((token) => token.start === location);
  if (next < 0) return null;
  next++;
  while (source.tokens[next]?.text === '.') next += 2;
  if (source.tokens[next]?.text === '*') next++;
  const spans: Array<{ start: number; end: number }> = [];
  let first: SqlToken | undefined;
  let last: SqlToken | undefined;
  for (const token of source.tokens.slice(next)) {
    if (token.depth === 0 && (token.text === ',' || token.text === ';')) {
      if (first && last) spans.push({ start: first.start, end: last.end });
      first = last = undefined;
      continue;
    }
    first ??= token;
    last = token;
  }
  if (first && last) spans.push({ start: first.start, end: last.end });
  return spans;
}

const ATTRIBUTES = /^CONSTR_ATTR_/;

/**
 * The constraints of an ADD COLUMN's definition with their spans; a constraint runs to the
 * next one (or the COLLATE clause, or the end of the subcommand), taking its DEFERRABLE /
 * INITIALLY attributes along.
 */
export function columnConstraints(table: AlterTable, command: AlterCommand): ColumnConstraint[] {
  const nodes = listOf(command.columnDef?.constraints).map((item) => bodyOf(item, 'Constraint') ?? {});
  const collation = (command.columnDef?.collClause as Node | undefined)?.location;
  const boundaries = nodes.filter((node) => !ATTRIBUTES.test(String(node.contype))).map((node) => Number(node.location));
  return nodes.flatMap((node, index) => {
    if (ATTRIBUTES.test(String(node.contype))) return [];
    const start = Number(node.location);
    const following = nodes.slice(index + 1);
    const next = following.findIndex((other) => !ATTRIBUTES.test(String(other.contype)));
    const attributes = following.slice(0, next < 0 ? undefined : next).map((other) => String(other.contype));
    const limit = Math.min(
      ...boundaries.filter((at) => at > start),
      ...(typeof collation === 'number' && collation > start ? [collation] : []),
      command.end,
    );
    const tokens = table.source.tokens.filter((token) => token.start >= start && token.end <= limit);
    return [{ type: String(node.contype), node, attributes, start, end: tokens.at(-1)?.end ?? limit }];
  });
}

/**
 * The edit that takes a column constraint out of the statement, with the space before it.
 *
 * @example `ADD COLUMN token uuid DEFAULT gen_random_uuid() UNIQUE` without the DEFAULT: `ADD COLUMN token uuid UNIQUE`
 */
export function removal(table: AlterTable, constraint: ColumnConstraint): Edit {
  const before = table.source.tokens.filter((token) => token.end <= constraint.start).at(-1);
  return { start: before?.end ?? constraint.start, end: constraint.end, text: '' };
}

/**
 * The statement with one ADD CONSTRAINT made NOT VALID, and named when `name` is given
 * (an unnamed constraint needs a name for the later VALIDATE).
 *
 * @example ALTER TABLE t ADD CHECK (a > 0) → ALTER TABLE t ADD CONSTRAINT t_a_check CHECK (a > 0) NOT VALID
 */
export function withNotValid(table: AlterTable, command: AlterCommand, name: string | null): string {
  const add = table.source.tokens.find((token) => token.start === command.start);
  const edits: Edit[] = [{ start: command.end, end: command.end, text: ' NOT VALID' }];
  if (name !== null && add) edits.push({ start: add.end, end: add.end, text: ` CONSTRAINT ${quoteIdent(name)}` });
  return table.source.edit(edits);
}

/**
 * A column constraint's text after its `CONSTRAINT name` and its leading `keyword`.
 *
 * @example CONSTRAINT d DEFAULT now() → now()    REFERENCES app.customers → REFERENCES app.customers
 */
export function constraintBody(table: AlterTable, constraint: ColumnConstraint, keyword?: string): string {
  const tokens = table.source.tokens.filter((token) => token.start >= constraint.start && token.end <= constraint.end);
  let first = tokens[0]?.keyword === 'CONSTRAINT' ? 2 : 0;
  if (keyword !== undefined && tokens[first]?.keyword === keyword) first++;
  return table.source.slice(tokens[first]?.start ?? constraint.end, constraint.end);
}
