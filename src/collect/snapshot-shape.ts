/**
 * The shape of a snapshot file, field by field as in snapshot.ts: the compiler checks
 * that it covers every field the Snapshot type declares.
 */
import { array, boolean, integerText, literal, nullable, number, object, optional, record, satisfying, string, timestamp, type Shape } from './shape.js';
import { SNAPSHOT_FORMAT, type Snapshot } from './snapshot.js';

// PostgreSQL refuses INCREMENT 0; the exhaustion arithmetic divides by it.
const increment = satisfying<string>((value) => integerText.check(value, '') === null && !/^-?0+$/.test(value as string), 'a non-zero integer in a string');
const qualifiedName = object({ schema: string, name: string });
const counts = array(number);

const server = object({
  version: string,
  versionNum: number,
  database: string,
  currentUser: string,
  inRecovery: boolean,
  statsResetAt: nullable(timestamp),
  startedAt: string,
  settings: record(string),
  extensions: array(object({ name: string, version: string, schema: string })),
  blockSize: number,
  databaseBlocks: object({ hit: number, read: number }),
  databaseFrozenXidAge: number,
  databaseMinMultiXactAge: number,
  horizonHolders: array(object({
    kind: literal('session', 'prepared transaction', 'replication slot'),
    name: string,
    xidAge: number,
    since: nullable(timestamp),
  })),
});

const tableStats = object({
  seqScan: number,
  seqTupRead: number,
  idxScan: number,
  idxTupFetch: number,
  inserted: number,
  updated: number,
  hotUpdated: number,
  deleted: number,
  liveTuples: number,
  deadTuples: number,
  modifiedSinceAnalyze: number,
  insertedSinceVacuum: number,
  vacuumCount: number,
  autovacuumCount: number,
  lastVacuum: nullable(timestamp),
  lastAutovacuum: nullable(timestamp),
  lastAnalyze: nullable(timestamp),
  lastAutoanalyze: nullable(timestamp),
});

const table = object({
  oid: number,
  schema: string,
  name: string,
  kind: literal('table', 'partitioned', 'matview'),
  partitionOf: nullable(number),
  relpages: number,
  reltuples: number,
  reloptions: array(string),
  columns: array(object({ attnum: number, name: string, type: string, notNull: boolean })),
  stats: nullable(tableStats),
  toast: nullable(object({ relpages: number, reloptions: array(string) })),
  io: nullable(object({ heapRead: number, heapHit: number, indexRead: number, indexHit: number })),
  frozenXidAge: nullable(number),
  minMultiXactAge: nullable(number),
});

const index = object({
  oid: number,
  schema: string,
  name: string,
  tableOid: number,
  method: string,
  unique: boolean,
  primary: boolean,
  nullsNotDistinct: boolean,
  replicaIdentity: boolean,
  clustered: boolean,
  valid: boolean,
  ready: boolean,
  live: boolean,
  keys: array(object({
    attnum: number,
    expression: nullable(string),
    opclass: qualifiedName,
    opclassIsDefault: boolean,
    collation: nullable(qualifiedName),
    collationIsDefault: boolean,
    descending: boolean,
    nullsFirst: boolean,
  })),
  include: counts,
  predicate: nullable(string),
  reloptions: array(string),
  tablespace: nullable(string),
  relpages: number,
  parentIndexOid: nullable(number),
  constraint: nullable(object({ name: string, kind: literal('primary', 'unique', 'exclusion') })),
  stats: nullable(object({ scans: number, tuplesRead: number, tuplesFetched: number, lastScan: nullable(timestamp) })),
});

const referentialAction = literal('no action', 'restrict', 'cascade', 'set null', 'set default');

const foreignKey = object({
  name: string,
  referencedIndexOid: number,
  tableOid: number,
  columns: counts,
  referencedTableOid: number,
  referencedColumns: counts,
  inherited: boolean,
  validated: boolean,
  onDelete: referentialAction,
  onUpdate: referentialAction,
});

const sequence = object({
  oid: number,
  schema: string,
  name: string,
  type: string,
  increment,
  min: integerText,
  max: integerText,
  cycle: boolean,
  lastValue: nullable(integerText),
  feeds: array(object({ tableOid: number, attnum: number })),
});

const columnStats = object({
  tableOid: number,
  attnum: number,
  nullFrac: number,
  avgWidth: number,
  nDistinct: number,
  correlation: nullable(number),
  mostCommonFreqs: counts,
  mostCommonValues: nullable(array(string)),
});

const workload = object({
  unavailable: nullable(string),
  statements: array(object({
    queryId: string,
    userId: number,
    topLevel: boolean,
    query: string,
    calls: number,
    totalTimeMs: number,
    meanTimeMs: number,
    rows: number,
    sharedBlocksHit: number,
    sharedBlocksRead: number,
    tempBlocksWritten: number,
    blockReadTimeMs: number,
  })),
  hiddenStatements: number,
  deallocations: nullable(number),
  statsResetAt: nullable(timestamp),
  sampleSeconds: nullable(number),
});

const exactFigure = object({ wastedBytes: number, share: number });

const SHAPE: Shape<Snapshot> = object({
  format: literal(SNAPSHOT_FORMAT),
  collectedAt: timestamp,
  server,
  tables: array(table),
  indexes: array(index),
  foreignKeys: array(foreignKey),
  indexesInProgress: counts,
  otherRelationNames: array(qualifiedName),
  sequences: array(sequence),
  columnStats: array(columnStats),
  workload,
  exactBloat: optional(object({ unavailable: nullable(string), tables: record(exactFigure), indexes: record(exactFigure) })),
  visibility: optional(object({ tablesWithoutStats: counts, unreadableSequences: counts })),
});

/**
 * The first problem of a parsed snapshot file, with its path, or null: its shape, then
 * what rules walk without a guard: partition chains must end.
 */
export function snapshotProblem(data: unknown): string | null {
  return SHAPE.check(data, '') ?? partitionCycle(data as Snapshot);
}

function partitionCycle(snapshot: Snapshot): string | null {
  const parentOf = new Map(snapshot.tables.map((table) => [table.oid, table.partitionOf]));
  for (const [i, table] of snapshot.tables.entries()) {
    const seen = new Set<number>();
    for (let oid: number | null | undefined = table.oid; oid !== null && oid !== undefined; oid = parentOf.get(oid)) {
      if (seen.has(oid)) return `tables[${i}].partitionOf forms a cycle`;
      seen.add(oid);
    }
  }
  return null;
}
