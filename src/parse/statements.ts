import { loadModule, parseSync } from 'libpg-query';
import { UsageError } from '../errors.js';

/** One statement of a SQL text, as PostgreSQL's own parser sees it. */
export interface ParsedStatement {
  /** The statement's parse-tree node type, e.g. `IndexStmt`, `DropStmt`. */
  readonly kind: string;
  /** The statement's node (libpg-query JSON). */
  readonly node: Record<string, unknown>;
  /** Its source text. */
  readonly text: string;
  /** The comments between the previous statement and this one (e.g. suppression markers). */
  readonly preamble: string;
  /** 1-based line where the statement starts. */
  readonly line: number;
}

interface RawStatement {
  stmt: Record<string, Record<string, unknown>>;
  stmt_location?: number;
  stmt_len?: number;
}

/**
 * Splits SQL into statements with the real PostgreSQL parser (libpg-query), so dollar
 * quotes, comments and semicolons inside strings are handled as the server handles them.
 */
export async function parseStatements(sql: string, source = 'SQL'): Promise<ParsedStatement[]> {
  await loadModule();
  let tree: { stmts?: RawStatement[] };
  try {
    tree = parseSync(sql) as { stmts?: RawStatement[] };
  } catch (error) {
    throw new UsageError(`${source}${errorLine(sql, error)}: ${(error as Error).message}`);
  }
  // Locations are byte offsets into the UTF-8 text; a location skips leading comments.
  const bytes = Buffer.from(sql);
  let previousEnd = 0;
  return (tree.stmts ?? []).map((raw) => {
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len ? start + raw.stmt_len : bytes.length;
    const slice = bytes.subarray(start, end).toString();
    const preamble = bytes.subarray(previousEnd, start).toString().replace(/^\s*;/, '');
    previousEnd = end;
    const [kind = 'Unknown', node = {}] = Object.entries(raw.stmt)[0] ?? [];
    return {
      kind,
      node,
      text: slice.trim(),
      preamble: preamble.trim(),
      line: bytes.subarray(0, start).toString().split('\n').length + leadingNewlines(slice),
    };
  });
}

/** `:LINE` of a parse error, from libpg-query's 1-based byte cursor, when it has one. */
function errorLine(sql: string, error: unknown): string {
  const cursor = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
  if (!cursor) return '';
  return `:${Buffer.from(sql).subarray(0, cursor - 1).toString().split('\n').length}`;
}

function leadingNewlines(text: string): number {
  return (/^\s*/.exec(text)?.[0] ?? '').split('\n').length - 1;
}
