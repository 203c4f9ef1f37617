import { scanSync } from 'libpg-query';

/** One token of a statement, as PostgreSQL's scanner reads it (comments left out). */
export interface SqlToken {
  /** Byte offsets into the statement text (libpg-query reports bytes, not characters). */
  readonly start: number;
  readonly end: number;
  readonly text: string;
  /** The upper-cased text when the token is a keyword (any category), else ''. */
  readonly keyword: string;
  /** Bracket depth: 0 at the statement's top level; a bracket itself has the depth outside it. */
  readonly depth: number;
}

/** A replacement of the bytes `start..end` of a statement text. */
export interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** A statement text with its tokens, for rewriting it by token positions rather than by pattern. */
export interface SqlSource {
  readonly tokens: readonly SqlToken[];
  /** The text between two byte offsets (to the last token when `end` is left out). */
  slice(start: number, end?: number): string;
  /** The text with the edits applied (they must not overlap), up to its last token. */
  edit(edits: readonly Edit[]): string;
}

const COMMENTS = new Set(['C_COMMENT', 'SQL_COMMENT']);
const OPENERS = new Set(['(', '[']);
const CLOSERS = new Set([')', ']']);

/** Tokenizes a statement text with libpg-query's scanner (call `loadModule()` first). */
export function sqlSource(text: string): SqlSource {
  const bytes = Buffer.from(text);
  let depth = 0;
  const tokens = scanSync(text).tokens
    .filter((token) => !COMMENTS.has(token.tokenName))
    .map((token): SqlToken => {
      if (CLOSERS.has(token.text)) depth--;
      const result = { start: token.start, end: token.end, text: token.text, keyword: token.keywordKind ? token.text.toUpperCase() : '', depth };
      if (OPENERS.has(token.text)) depth++;
      return result;
    });
  // A statement's text can end in a comment (the last one of a file, without a semicolon):
  // stop at the last token, so a `;` appended by a fix is not commented out.
  const last = tokens.at(-1)?.end ?? 0;
  const slice = (start: number, end = last) => bytes.subarray(start, end).toString();
  return {
    tokens,
    slice,
    edit(edits) {
      let position = 0;
      const parts: string[] = [];
      for (const edit of [...edits].sort((a, b) => a.start - b.start)) {
        parts.push(slice(position, edit.start), edit.text);
        position = edit.end;
      }
      parts.push(slice(position));
      return parts.join('');
    },
  };
}

/** The statement as SQL to run: up to its last token, with its semicolon. */
export function terminated(text: string): string {
  return `${sqlSource(text).slice(0)};`;
}

/** The first top-level token that is the keyword. */
export function findKeyword(source: SqlSource, keyword: string): SqlToken | undefined {
  return source.tokens.find((token) => token.depth === 0 && token.keyword === keyword);
}

/**
 * The statement with `words` put right after its first top-level `keyword` token; null
 * when there is no such token.
 *
 * @example insertAfterKeyword(sqlSource('CREATE INDEX i ON t (a)'), 'INDEX', 'CONCURRENTLY') // 'CREATE INDEX CONCURRENTLY i ON t (a)'
 */
export function insertAfterKeyword(source: SqlSource, keyword: string, words: string): string | null {
  const token = findKeyword(source, keyword);
  return token ? source.edit([{ start: token.end, end: token.end, text: ` ${words}` }]) : null;
}

/**
 * The text of the first `keyword (…)` clause at the top level of the byte range, brackets
 * included; null when there is none.
 *
 * @example clauseText(sqlSource('ADD UNIQUE (a) WITH (fillfactor = 70)'), 'WITH', 0, 38) // 'WITH (fillfactor = 70)'
 */
export function clauseText(source: SqlSource, keyword: string, start: number, end: number): string | null {
  const tokens = source.tokens.filter((token) => token.start >= start && token.end <= end);
  const top = tokens[0]?.depth ?? 0;
  const at = tokens.findIndex((token, index) => token.depth === top && token.keyword === keyword && tokens[index + 1]?.text === '(');
  const close = tokens.findIndex((token, index) => index > at + 1 && token.text === ')' && token.depth === top);
  return at < 0 || close < 0 ? null : source.slice(tokens[at]!.start, tokens[close]!.end);
}
