import { UsageError } from '../errors.js';
import type { Snapshot, Statement, Table, TableIo, TableStats } from './snapshot.js';

/** `60s`, `5m`, `1h`, or plain seconds, as milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new UsageError(`invalid duration "${text}" (expected e.g. 500ms, 60s, 5m, 1h)`);
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1000;
  return Number(match[1]) * scale;
}

/**
 * What happened between two snapshots: statement and table counters become the change
 * over the window, so findings describe what the database does now rather than since
 * the last reset. Index scan counts stay cumulative (an index idle for a minute is not
 * unused). A counter that went down was reset in between: the later value is the change.
 */
export function sampleDifference(before: Snapshot, after: Snapshot): Snapshot {
  const seconds = (Date.parse(after.collectedAt) - Date.parse(before.collectedAt)) / 1000;
  const earlierStatements = new Map(before.workload.statements.map((statement) => [statementKey(statement), statement]));
  const earlierTables = new Map(before.tables.map((table) => [table.oid, table]));
  return {
    ...after,
    server: { ...after.server, databaseBlocks: {
      hit: delta(after.server.databaseBlocks.hit, before.server.databaseBlocks.hit),
      read: delta(after.server.databaseBlocks.read, before.server.databaseBlocks.read),
    } },
    tables: after.tables.map((table) => tableDifference(table, earlierTables.get(table.oid))),
    workload: {
      ...after.workload,
      sampleSeconds: seconds,
      statements: after.workload.statements
        .map((statement) => statementDifference(statement, earlierStatements.get(statementKey(statement))))
        .filter((statement) => statement.calls > 0),
    },
  };
}

function statementKey(statement: Statement): string {
  return `${statement.queryId}:${statement.userId}:${statement.topLevel}`;
}

function delta(now: number, then: number | undefined): number {
  return then === undefined || now < then ? now : now - then;
}

function statementDifference(now: Statement, then: Statement | undefined): Statement {
  const base = then && now.calls >= then.calls ? then : undefined;
  const calls = delta(now.calls, base?.calls);
  const totalTimeMs = delta(now.totalTimeMs, base?.totalTimeMs);
  return {
    ...now,
    calls,
    totalTimeMs,
    meanTimeMs: calls > 0 ? totalTimeMs / calls : 0,
    rows: delta(now.rows, base?.rows),
    sharedBlocksHit: delta(now.sharedBlocksHit, base?.sharedBlocksHit),
    sharedBlocksRead: delta(now.sharedBlocksRead, base?.sharedBlocksRead),
    tempBlocksWritten: delta(now.tempBlocksWritten, base?.tempBlocksWritten),
    blockReadTimeMs: delta(now.blockReadTimeMs, base?.blockReadTimeMs),
  };
}

const COUNTERS = ['seqScan', 'seqTupRead', 'idxScan', 'idxTupFetch', 'inserted', 'updated', 'hotUpdated', 'deleted'] as const;
const IO_COUNTERS = ['heapRead', 'heapHit', 'indexRead', 'indexHit'] as const;

function tableDifference(now: Table, then: Table | undefined): Table {
  const stats = now.stats && then?.stats ? subtract<TableStats>(now.stats, then.stats, COUNTERS) : now.stats;
  const io = now.io && then?.io ? subtract<TableIo>(now.io, then.io, IO_COUNTERS) : now.io;
  return { ...now, stats, io };
}

function subtract<T>(now: T, then: T, fields: readonly (keyof T & string)[]): T {
  const out = { ...now };
  for (const field of fields) (out as Record<string, unknown>)[field] = delta(now[field] as number, then[field] as number);
  return out;
}
