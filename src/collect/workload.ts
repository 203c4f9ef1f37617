import type { Kysely } from 'kysely';
import { QUERY_TAG } from '../connect/session.js';
import { catalogQuery, isoTime } from './catalog-query.js';
import { loadRedactor, redactStatement } from './redact.js';
import type { Server, Statement, Workload } from './snapshot.js';
import { qualify } from '../plan/quote.js';

interface StatementRow {
  query_id: string | null;
  userid: number;
  top_level: boolean;
  query: string | null;
  calls: number;
  total_time: number;
  mean_time: number;
  rows: number;
  shared_blks_hit: number;
  shared_blks_read: number;
  temp_blks_written: number;
  blk_read_time: number;
}

interface InfoRow {
  dealloc: number;
  stats_reset: Date | null;
}

const HIDDEN_TEXT = '<insufficient privilege>';

/** pg_stat_statements' column names by extension version (1.8 = PG13 … 1.12 = PG18). */
function statementsSql(schema: string, version: readonly number[]): string {
  const atLeast = (minor: number) => (version[0] ?? 0) > 1 || (version[1] ?? 0) >= minor;
  const readTime = atLeast(11) ? 's.shared_blk_read_time' : 's.blk_read_time';
  const topLevel = atLeast(9) ? 's.toplevel' : 'true';
  return `
  SELECT s.queryid::text AS query_id, s.userid, ${topLevel} AS top_level, s.query,
         s.calls::float8, s.total_exec_time AS total_time, s.mean_exec_time AS mean_time, s.rows::float8,
         s.shared_blks_hit::float8, s.shared_blks_read::float8, s.temp_blks_written::float8, ${readTime} AS blk_read_time
  FROM ${qualify(schema, 'pg_stat_statements')} s
  WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND s.query NOT LIKE '%${QUERY_TAG}%'`;
}

/**
 * Reads pg_stat_statements for the current database (never perfaudit's own statements),
 * with every text redacted before it enters the snapshot. Says why when it cannot. The
 * read runs under a savepoint: when the extension is installed but not loaded through
 * shared_preload_libraries (a setting other roles cannot even see), reading fails, and
 * must not abort the snapshot's transaction.
 */
export async function collectWorkload(db: Kysely<unknown>, server: Server): Promise<Workload> {
  const extension = server.extensions.find((candidate) => candidate.name === 'pg_stat_statements');
  const empty = { statements: [], hiddenStatements: 0, deallocations: null, statsResetAt: null, sampleSeconds: null };
  if (!extension) return { ...empty, unavailable: 'pg_stat_statements is not installed' };
  const version = extension.version.split('.').map(Number);
  const withInfo = (version[0] ?? 0) > 1 || (version[1] ?? 0) >= 9;
  let rows: StatementRow[];
  let info: InfoRow | undefined;
  await catalogQuery(db, 'SAVEPOINT perfaudit_workload');
  try {
    rows = await catalogQuery<StatementRow>(db, statementsSql(extension.schema, version));
    info = withInfo ? (await catalogQuery<InfoRow>(db, `SELECT dealloc::float8, stats_reset FROM ${qualify(extension.schema, 'pg_stat_statements_info')}`))[0] : undefined;
    await catalogQuery(db, 'RELEASE SAVEPOINT perfaudit_workload');
  } catch (error) {
    await catalogQuery(db, 'ROLLBACK TO SAVEPOINT perfaudit_workload');
    return { ...empty, unavailable: unreadable(error) };
  }
  await loadRedactor();
  const visible = rows.filter((row) => row.query !== null && row.query !== HIDDEN_TEXT && row.query_id !== null);
  const hiddenStatements = rows.length - visible.length;
  return {
    unavailable: rows.length > 0 && visible.length === 0
      ? `the role ${server.currentUser} may not read other roles' statements (GRANT pg_read_all_stats TO ${server.currentUser};)`
      : null,
    statements: visible.map(toStatement),
    hiddenStatements,
    deallocations: info?.dealloc ?? null,
    statsResetAt: isoTime(info?.stats_reset ?? null),
    sampleSeconds: null,
  };
}

function unreadable(error: unknown): string {
  const message = (error as Error).message ?? String(error);
  if (/shared_preload_libraries/.test(message)) {
    return 'pg_stat_statements is installed but not loaded: add it to shared_preload_libraries in postgresql.conf and restart the server';
  }
  return `pg_stat_statements could not be read: ${message}`;
}

function toStatement(row: StatementRow): Statement {
  return {
    queryId: row.query_id ?? '',
    userId: row.userid,
    topLevel: row.top_level,
    query: redactStatement(row.query ?? ''),
    calls: row.calls,
    totalTimeMs: row.total_time,
    meanTimeMs: row.mean_time,
    rows: row.rows,
    sharedBlocksHit: row.shared_blks_hit,
    sharedBlocksRead: row.shared_blks_read,
    tempBlocksWritten: row.temp_blks_written,
    blockReadTimeMs: row.blk_read_time,
  };
}
