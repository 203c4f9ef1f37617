import { RESERVED_KEYWORDS } from './keywords.js';

// quote_ident's notion of a safe name: a-z or _ first, then a-z, 0-9 or _. `$` is legal
// in an unquoted identifier but quote_ident quotes it (and it is not standard SQL), so do we.
const SAFE_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * Quotes an identifier the way PostgreSQL's quote_ident does: bare when it is a
 * lower-case name that is not a keyword, otherwise in double quotes with embedded
 * quotes doubled. The one function every generated statement uses for names.
 *
 * @example quoteIdent('tasks') // tasks
 * @example quoteIdent('Order "Items"; drop') // "Order ""Items""; drop"
 */
export function quoteIdent(name: string): string {
  if (SAFE_IDENTIFIER.test(name) && !RESERVED_KEYWORDS.has(name)) return name;
  return `"${name.replaceAll('"', '""')}"`;
}

/** `schema.name`, each part quoted. */
export function qualify(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** A string literal, E'' form when it holds backslashes (as quote_literal does). */
export function quoteLiteral(value: string): string {
  const body = value.replaceAll("'", "''");
  return value.includes('\\') ? `E'${body.replaceAll('\\', '\\\\')}'` : `'${body}'`;
}
