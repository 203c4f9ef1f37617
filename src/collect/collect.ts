import { sql, type Kysely } from 'kysely';
import { LOCK_NOT_AVAILABLE, tagged, type Session } from '../connect/session.js';
import { buildForeignKeys, buildIndexes, indexesInProgress, queryIndexSources, tablesLocked } from './indexes.js';
import { leaveOutLocked } from './locks.js';
import { collectServer } from './server.js';
import { SNAPSHOT_FORMAT, type Snapshot, type Table } from './snapshot.js';
import { buildTables, queryTableSources, type TableSources } from './tables.js';
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
    const { locked, ...relations } = await collectRelations(db, server.versionNum);
    const sequences = await collectSequences(db, server.versionNum);
    const columnStats = buildColumnStats(await queryColumnStats(db), relations.tables);
    const workload = await collectWorkload(db, server);
    const visibility = await collectVisibility(db);
    return leaveOutLocked({
      format: SNAPSHOT_FORMAT,
      collectedAt: new Date().toISOString(),
      server,
      ...relations,
      sequences: sequences.sequences,
      columnStats,
      workload,
      visibility,
    }, locked, sequences.locked);
  } finally {
    // After an error the transaction is aborted, and COMMIT ends it with a rollback.
    await sql.raw(tagged('COMMIT')).execute(db);
  }
}

type Relations = Pick<Snapshot, 'tables' | 'indexes' | 'foreignKeys' | 'indexesInProgress' | 'otherRelationNames'> & {
  /** Tables whose index definitions could not be read without waiting, to the pid locking them. */
  readonly locked: ReadonlyMap<number, number>;
};

// Rows become snapshot objects as soon as their sources are read, and are dropped before
// the next sources come (but the columns, which the indexes' collations need): the raw rows
// of a large catalog (60 MB at 10,000 tables) never sit in memory beside the whole snapshot.
async function collectRelations(db: Kysely<unknown>, versionNum: number): Promise<Relations> {
  const { tables, columns, inherits, otherRelations } = await collectTables(db);
  const indexSources = await queryIndexSources(db, versionNum);
  return {
    tables,
    indexes: buildIndexes(indexSources, columns, inherits),
    foreignKeys: buildForeignKeys(indexSources),
    indexesInProgress: indexesInProgress(indexSources),
    otherRelationNames: otherRelations,
    locked: tablesLocked(indexSources),
  };
}

async function collectTables(db: Kysely<unknown>): Promise<Pick<TableSources, 'columns' | 'inherits' | 'otherRelations'> & { tables: Table[] }> {
  const sources = await queryTableSources(db);
  return { tables: buildTables(sources), columns: sources.columns, inherits: sources.inherits, otherRelations: sources.otherRelations };
}
