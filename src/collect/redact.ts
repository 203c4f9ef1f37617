import { loadModule, scanSync } from 'libpg-query';

/** What a redacted literal reads as; still a valid string literal, so texts stay parseable. */
export const REDACTED_LITERAL = "'…'";
const UNSCANNABLE = '/* perfaudit: statement text withheld (it could not be tokenized, so its secrets could not be redacted) */';

// A string token in any of its spellings: '…', E'…', B'…', X'…', N'…', U&'…', $tag$…$tag$.
const STRING_TOKEN = /^(?:[EeBbXxNn]|[Uu]&)?'|^\$[^$]*\$/;
const COMMENT_TOKENS = new Set(['C_COMMENT', 'SQL_COMMENT']);
// What a string literal or comment cannot be written without: a quote, a comment opener, or
// a dollar quote (a `$` not followed by a digit, which would make it a $n parameter). Most
// normalized statements have none and skip the tokenizer, the costliest step of collecting
// thousands of statements.
const MAY_HOLD_SECRET = /'|--|\/\*|\$(?!\d)/;

export async function loadRedactor(): Promise<void> {
  await loadModule();
}

/**
 * Removes what can hold a secret from a statement text before it enters a snapshot:
 * every string literal and every comment, found by PostgreSQL's own scanner.
 * pg_stat_statements already replaces constants in DML with $n, but keeps utility
 * statements verbatim: `CREATE ROLE … PASSWORD '…'`, `CREATE SERVER … OPTIONS (password
 * '…')`, `CREATE SUBSCRIPTION … CONNECTION '…password=…'`. Call loadRedactor() first.
 *
 * @example redactStatement("ALTER ROLE app PASSWORD 'hunter2'") // "ALTER ROLE app PASSWORD '…'"
 */
export function redactStatement(text: string): string {
  if (!MAY_HOLD_SECRET.test(text)) return tidy(text);
  let tokens: Array<{ start: number; end: number; text: string; tokenName: string }>;
  try {
    tokens = scanSync(text).tokens;
  } catch {
    return UNSCANNABLE;
  }
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  let position = 0;
  for (const token of tokens) {
    const replacement = COMMENT_TOKENS.has(token.tokenName) ? '' : STRING_TOKEN.test(token.text) ? REDACTED_LITERAL : null;
    if (replacement === null) continue;
    out.push(bytes.subarray(position, token.start), Buffer.from(replacement));
    position = token.end;
  }
  out.push(bytes.subarray(position));
  return tidy(Buffer.concat(out).toString());
}

function tidy(text: string): string {
  return text.replace(/[ \t]+\n/g, '\n').trim();
}
