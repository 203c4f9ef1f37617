/**
 * What PostgreSQL silently hides from the scanning role, and the notes rules give when it
 * keeps them from judging part of the database. Each note names the privilege, and the
 * GRANT that gives it, so the gap can be closed rather than guessed at.
 */
import type { Kysely } from 'kysely';
import { quoteIdent } from '../plan/quote.js';
import { catalogQuery, userSchema } from './catalog-query.js';
import type { Snapshot, Table, Visibility } from './snapshot.js';

interface VisibilityRow {
  tables_without_stats: number[];
  unreadable_sequences: number[];
}

// pg_stats shows a column only to roles that may SELECT it, and none of a table whose
// row security applies to the role; pg_sequence_last_value needs SELECT or USAGE.
const VISIBILITY_SQL = `
  SELECT coalesce(array_agg(c.oid::int8::float8) FILTER (WHERE c.relkind IN ('r', 'p', 'm')
           AND (NOT has_table_privilege(c.oid, 'SELECT') OR (c.relrowsecurity AND row_security_active(c.oid)))), '{}') AS tables_without_stats,
         coalesce(array_agg(c.oid::int8::float8) FILTER (WHERE c.relkind = 'S' AND NOT has_sequence_privilege(c.oid, 'SELECT,USAGE')), '{}') AS unreadable_sequences
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'm', 'S') AND ${userSchema('n.nspname')}`;

/** One query. */
export async function collectVisibility(db: Kysely<unknown>): Promise<Visibility> {
  const [row] = await catalogQuery<VisibilityRow>(db, VISIBILITY_SQL);
  return {
    tablesWithoutStats: row?.tables_without_stats ?? [],
    unreadableSequences: row?.unreadable_sequences ?? [],
  };
}

/** The tables among these whose column statistics the role may not read. */
export function withoutStatistics(snapshot: Snapshot, tables: readonly Table[]): Table[] {
  const hidden = new Set(snapshot.visibility?.tablesWithoutStats);
  return tables.filter((table) => hidden.has(table.oid));
}

/** Note for tables left unjudged because pg_stats hides their statistics; null for none. */
export function hiddenStatisticsNote(snapshot: Snapshot, tables: readonly Table[], consequence: string): string | null {
  if (tables.length === 0) return null;
  const role = quoteIdent(snapshot.server.currentUser);
  const sorted = tables.map((table) => `${table.schema}.${table.name}`).sort();
  const names = sorted.slice(0, 3).join(', ') + (tables.length > 3 ? ', …' : '');
  return `pg_stats hides the column statistics of ${count(tables.length, 'table')} (${names}) from role ${snapshot.server.currentUser}, so ${consequence}: `
    + `GRANT SELECT ON them, or GRANT pg_read_all_data TO ${role};`;
}

/** How the bloat rules say what they could not judge: not estimated, and why not measured. */
export function bloatUnjudged(snapshot: Snapshot, subject: string): string {
  const exact = snapshot.exactBloat;
  if (!exact) return `${subject} is not estimated (scan --exact measures it with pgstattuple instead)`;
  return exact.unavailable ? `${subject} is neither estimated nor measured (${exact.unavailable})` : `${subject} is not estimated`;
}

/** Note for other roles' pg_stat_statements rows the role may not read; null when it sees them all. */
export function hiddenStatementsNote(snapshot: Snapshot): string | null {
  const hidden = snapshot.workload.hiddenStatements;
  if (hidden === 0) return null;
  return `${count(hidden, 'pg_stat_statements row')} of other roles ${hidden === 1 ? 'is' : 'are'} hidden from role ${snapshot.server.currentUser} and not judged: `
    + `GRANT pg_read_all_stats TO ${quoteIdent(snapshot.server.currentUser)};`;
}

/** Note for sequences whose last value the role may not read; null for none. */
export function unreadableSequencesNote(snapshot: Snapshot): string | null {
  const hidden = snapshot.visibility?.unreadableSequences.length ?? 0;
  if (hidden === 0) return null;
  return `the last values of ${count(hidden, 'sequence')} are hidden from role ${snapshot.server.currentUser}, so they are not judged: `
    + `GRANT SELECT ON them, or GRANT pg_read_all_data TO ${quoteIdent(snapshot.server.currentUser)};`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
