import { sql, type Kysely } from 'kysely';
import { tagged } from '../connect/session.js';

/** Schemas that hold no user objects. Every collect query filters with this predicate but pg_stats's (see column-stats.ts). */
export function userSchema(column: string): string {
  return `${column} NOT IN ('pg_catalog', 'information_schema') AND ${column} !~ '^pg_(toast|temp_|toast_temp_)'`;
}

/**
 * Runs one catalog query, tagged so perfaudit can recognise its own statements, and
 * returns its typed rows. Catalog SQL is static text chosen by server version, never
 * built from user input, so raw SQL is safe here.
 */
export async function catalogQuery<Row>(db: Kysely<unknown>, text: string): Promise<Row[]> {
  const result = await sql.raw<Row>(tagged(text)).execute(db);
  return result.rows;
}

/** A timestamp column as an ISO string. */
export function isoTime(value: Date | string | null): string | null {
  if (value === null) return null;
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}

/**
 * One shared copy of each distinct string: a large catalog repeats the same schema, type
 * and column names tens of thousands of times, and each row brings its own copy.
 */
export function interner(): (text: string) => string {
  const seen = new Map<string, string>();
  return (text) => {
    const known = seen.get(text);
    if (known !== undefined) return known;
    seen.set(text, text);
    return text;
  };
}
