import { readFile, writeFile } from 'node:fs/promises';
import { sql, type Kysely } from 'kysely';
import { tagged, type Session } from '../connect/session.js';
import { UsageError } from '../errors.js';
import { buildForeignKeys, buildIndexes, indexesInProgress, queryIndexSources } from './indexes.js';
import { collectServer } from './server.js';
import { SNAPSHOT_FORMAT, type Snapshot, type Table } from './snapshot.js';
import { buildTables, queryTableSources, type TableSources } from './tables.js';
import { buildColumnStats, queryColumnStats } from './column-stats.js';
import { collectSequences } from './sequences.js';
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
    const relations = await collectRelations(db, server.versionNum);
    const sequences = await collectSequences(db, server.versionNum);
    const columnStats = buildColumnStats(await queryColumnStats(db), relations.tables);
    const workload = await collectWorkload(db, server);
    return {
      format: SNAPSHOT_FORMAT,
      collectedAt: new Date().toISOString(),
      server,
      ...relations,
      sequences,
      columnStats,
      workload,
    };
  } finally {
    await sql.raw(tagged('COMMIT')).execute(db);
  }
}

type Relations = Pick<Snapshot, 'tables' | 'indexes' | 'foreignKeys' | 'indexesInProgress' | 'otherRelationNames'>;

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
  };
}

async function collectTables(db: Kysely<unknown>): Promise<Pick<TableSources, 'columns' | 'inherits' | 'otherRelations'> & { tables: Table[] }> {
  const sources = await queryTableSources(db);
  return { tables: buildTables(sources), columns: sources.columns, inherits: sources.inherits, otherRelations: sources.otherRelations };
}

export async function writeSnapshot(snapshot: Snapshot, file: string): Promise<void> {
  await writeFile(file, `${JSON.stringify(snapshot, null, 1)}\n`);
}

/** Reads a snapshot file written by `perfaudit snapshot`, checking its format. */
export async function readSnapshot(file: string): Promise<Snapshot> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read snapshot ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UsageError(`snapshot ${file} is not valid JSON`);
  }
  const format = (data as { format?: unknown } | null)?.format;
  if (typeof format !== 'number') throw new UsageError(`${file} is not a perfaudit snapshot`);
  if (format > SNAPSHOT_FORMAT) {
    throw new UsageError(`snapshot ${file} has format ${format}; this perfaudit reads format ${SNAPSHOT_FORMAT} (upgrade perfaudit)`);
  }
  const snapshot = data as Snapshot;
  for (const field of ['server', 'tables', 'indexes', 'foreignKeys', 'indexesInProgress', 'otherRelationNames', 'sequences', 'columnStats', 'workload'] as const) {
    if (snapshot[field] === undefined || snapshot[field] === null) throw new UsageError(`snapshot ${file} lacks "${field}"`);
  }
  return snapshot;
}
