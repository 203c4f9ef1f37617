import { sql } from 'kysely';
import { tagged, type Session } from '../connect/session.js';
import { buildForeignKeys, buildIndexes, indexesInProgress, queryIndexSources } from './indexes.js';
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
 * and joined by oid in memory.
 */
export async function collectSnapshot(session: Session): Promise<Snapshot> {
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
    return {
      format: SNAPSHOT_FORMAT,
      collectedAt: new Date().toISOString(),
      server,
      tables,
      indexes: buildIndexes(indexSources, tableSources.columns, tableSources.inherits),
      foreignKeys: buildForeignKeys(indexSources),
      indexesInProgress: indexesInProgress(indexSources),
      otherRelationNames: tableSources.otherRelations,
      sequences,
      columnStats: buildColumnStats(columnStats, tables),
      workload,
      visibility,
    };
  } finally {
    await sql.raw(tagged('COMMIT')).execute(db);
  }
}
