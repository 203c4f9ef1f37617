import { sql } from 'kysely';
import { LOCK_NOT_AVAILABLE, tagged, type Session } from '../connect/session.js';
import { buildForeignKeys, buildIndexes, indexesInProgress, queryIndexSources, tablesLocked } from './indexes.js';
import { leaveOutLocked } from './locks.js';
import { collectServer } from './server.js';
import { SNAPSHOT_FORMAT, type Snapshot } from './snapshot.js';
import { buildTables, queryTableSources } from './tables.js';
import { buildColumnStats, queryColumnStats } from './column-stats.js';
import { collectSequences } from './sequences.js';
import { collectVisibility } from './visibility.js';
import { collectWorkload } from './workload.js';

/**
 * Reads the whole snapshot inside one REPEATABLE READ, READ ONLY transaction, with a
 * fixed number of statements whatever the schema size: each catalog source is read once
 * and joined by oid in memory. Objects another session has locked are left out rather
 * than waited for (locks.ts); a lock taken in the instant between reading pg_locks and
 * using it makes one read time out, and the next read sees it.
 */
export async function collectSnapshot(session: Session): Promise<Snapshot> {
  try {
    return await readOnce(session);
  } catch (error) {
    if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw error;
    return readOnce(session);
  }
}

async function readOnce(session: Session): Promise<Snapshot> {
  const { db } = session;
  await sql.raw(tagged('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')).execute(db);
  try {
    const server = await collectServer(db);
    const tableSources = await queryTableSources(db);
    const indexSources = await queryIndexSources(db, server.versionNum);
    const sequences = await collectSequences(db);
    const columnStats = await queryColumnStats(db);
    const workload = await collectWorkload(db, server);
    const visibility = await collectVisibility(db);
    const tables = buildTables(tableSources);
    return leaveOutLocked({
      format: SNAPSHOT_FORMAT,
      collectedAt: new Date().toISOString(),
      server,
      tables,
      indexes: buildIndexes(indexSources, tableSources.columns, tableSources.inherits),
      foreignKeys: buildForeignKeys(indexSources),
      indexesInProgress: indexesInProgress(indexSources),
      otherRelationNames: tableSources.otherRelations,
      sequences: sequences.sequences,
      columnStats: buildColumnStats(columnStats, tables),
      workload,
      visibility,
    }, tablesLocked(indexSources), sequences.locked);
  } finally {
    // After an error the transaction is aborted, and COMMIT ends it with a rollback.
    await sql.raw(tagged('COMMIT')).execute(db);
  }
}
