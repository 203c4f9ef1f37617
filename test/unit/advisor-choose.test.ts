import { loadModule } from 'libpg-query';
import { beforeAll, describe, expect, it } from 'vitest';
import rule from '../../rules/missing-index.js';
import type { Candidate } from '../../src/advisor/candidates.js';
import { fold, mergeCandidates } from '../../src/advisor/merge.js';
import { estimator } from '../../src/advisor/selectivity.js';
import { servingIndex } from '../../src/advisor/served.js';
import { samePredicate } from '../../src/advisor/index-sql.js';
import { lookup } from '../../src/collect/lookup.js';
import type { Index, Snapshot, Statement, Table, TableStats } from '../../src/collect/snapshot.js';

const stats = (fields: Partial<TableStats>): TableStats => ({
  seqScan: 0, seqTupRead: 0, idxScan: 0, idxTupFetch: 0, inserted: 0, updated: 0, hotUpdated: 0, deleted: 0, liveTuples: 0,
  deadTuples: 0, modifiedSinceAnalyze: 0, insertedSinceVacuum: 0, vacuumCount: 0, autovacuumCount: 0, lastVacuum: null, lastAutovacuum: null, lastAnalyze: null, lastAutoanalyze: null, ...fields,
});

// tasks: 100k rows; project_id 1000 distinct, status 5, assignee_id 20k distinct.
const tasks: Table = {
  oid: 10, schema: 'app', name: 'tasks', kind: 'table', partitionOf: null, relpages: 1000, reltuples: 100_000, reloptions: [],
  io: null, toast: null, frozenXidAge: null, minMultiXactAge: null,
  columns: ['id', 'project_id', 'status', 'assignee_id', 'due_on'].map((name, i) => ({ attnum: i + 1, name, type: 'integer', notNull: true })),
  stats: stats({ inserted: 1000, updated: 10_000, hotUpdated: 9000 }),
};

function btree(name: string, keys: number[], fields: Partial<Index> = {}): Index {
  return {
    oid: 100 + keys.length * 10 + (keys[0] ?? 0), schema: 'app', name, tableOid: 10, method: 'btree', unique: false, primary: false,
    nullsNotDistinct: false, replicaIdentity: false, clustered: false, valid: true, ready: true, live: true, include: [], predicate: null,
    reloptions: [], tablespace: null, relpages: 10, parentIndexOid: null, constraint: null, stats: null,
    keys: keys.map((attnum) => ({ attnum, expression: null, opclass: { schema: 'pg_catalog', name: 'int4_ops' }, opclassIsDefault: true,
      collation: null, collationIsDefault: true, descending: false, nullsFirst: false })),
    ...fields,
  };
}

function statement(queryId: string, query: string, calls: number, totalTimeMs: number, rows: number): Statement {
  return { queryId, userId: 10, topLevel: true, query, calls, totalTimeMs, meanTimeMs: totalTimeMs / calls, rows,
    sharedBlocksHit: 0, sharedBlocksRead: 0, tempBlocksWritten: 0, blockReadTimeMs: 0 };
}

function snapshotWith(statements: Statement[], indexes: Index[] = [btree('tasks_pkey', [1], { unique: true, primary: true })]): Snapshot {
  return {
    format: 1, collectedAt: '2026-01-01T00:00:00Z', tables: [tasks], indexes, foreignKeys: [], indexesInProgress: [], otherRelationNames: [],
    sequences: [],
    columnStats: [[1, -1], [2, 1000], [3, 5], [4, 20_000], [5, -0.01]].map(([attnum, nDistinct]) => ({
      tableOid: 10, attnum: attnum!, nullFrac: 0, avgWidth: 8, nDistinct: nDistinct!, correlation: null, mostCommonFreqs: [], mostCommonValues: null })),
    workload: { unavailable: null, statements, hiddenStatements: 0, deallocations: null, statsResetAt: null, sampleSeconds: null },
    server: { version: '18.4', versionNum: 180004, database: 'app', currentUser: 'u', inRecovery: false, statsResetAt: null,
      startedAt: '2026-01-01T00:00:00Z', settings: {}, extensions: [], blockSize: 8192, databaseBlocks: { hit: 0, read: 0 },
      databaseFrozenXidAge: 0, databaseMinMultiXactAge: 0, horizonHolders: [] },
  };
}

const candidate = (layers: number[][], trailing: number | null, uses = 1): Candidate => ({
  table: tasks, layers, trailing: trailing === null ? null : { attnum: trailing, kind: 'sort' }, partial: [],
  uses: Array.from({ length: uses }, (_, i) => ({ statement: statement(String(i), '', 1, 1, 1), key: `${layers}:${trailing}:${i}`, selectivity: 0.001 })),
});

describe('merging candidates', () => {
  it('folds a candidate into one whose prefix it can be, reordering equality columns', () => {
    expect(fold(candidate([[2]], null), candidate([[4, 2]], 5))).toMatchObject({ layers: [[2], [4]], trailing: { attnum: 5 } });
    expect(fold(candidate([[2, 4]], 5), candidate([[4, 2]], null))).toMatchObject({ layers: [[4, 2]], trailing: { attnum: 5 } });
    // A range or sort column must come right after the equality columns.
    expect(fold(candidate([[2]], 5), candidate([[2, 4]], null))).toBeNull();
    expect(fold(candidate([[2]], 4), candidate([[2, 4]], null))).toMatchObject({ layers: [[2], [4]] });
    expect(fold(candidate([[3]], null), candidate([[2, 4]], null))).toBeNull();
  });

  it('merges a set of candidates into the fewest indexes serving them all', () => {
    const merged = mergeCandidates([candidate([[2]], null), candidate([[4, 2]], 5), candidate([[2, 4]], null), candidate([[3]], null)]);
    expect(merged.map((c) => [c.layers, c.trailing?.attnum ?? null, c.uses.length])).toEqual([
      [[[2], [4]], 5, 3], [[[3]], null, 1],
    ]);
  });
});

describe('existing indexes', () => {
  const estimate = (snapshot: Snapshot) => estimator(snapshot, lookup(snapshot));
  it('serve a candidate when their leading columns are its equality columns, then its sort column', () => {
    const snapshot = snapshotWith([], [btree('tasks_status_project_id_idx', [3, 2]), btree('tasks_project_id_due_on_idx', [2, 5])]);
    const served = (c: Candidate, narrowRows = 10) => servingIndex(c, lookup(snapshot), estimate(snapshot), narrowRows)?.name ?? null;
    expect(served(candidate([[2, 3]], null))).toBe('tasks_status_project_id_idx');
    expect(served(candidate([[2]], 5))).toBe('tasks_project_id_due_on_idx');
    // 20 rows per project and status: sorting them is the work an index ending in due_on would save,
    // unless that few rows count as narrow enough.
    expect(served(candidate([[2, 3]], 5))).toBeNull();
    expect(served(candidate([[2, 3]], 5), 50)).toBe('tasks_status_project_id_idx');
    expect(served(candidate([[2, 3, 4]], null))).toBeNull();
  });

  it('serve a candidate when their leading columns alone narrow it to a few rows, or are unique', () => {
    const snapshot = snapshotWith([], [btree('tasks_assignee_id_idx', [4]), btree('tasks_pkey', [1], { unique: true })]);
    const served = (c: Candidate) => servingIndex(c, lookup(snapshot), estimate(snapshot), 50)?.name ?? null;
    expect(served(candidate([[4, 2]], 5))).toBe('tasks_assignee_id_idx');
    expect(served(candidate([[1, 2]], null))).toBe('tasks_pkey');
    expect(served(candidate([[2]], null))).toBeNull();
  });

  it('compare partial predicates as PostgreSQL deparses them', () => {
    expect(samePredicate('((deleted_at IS NULL) AND flagged)', 'deleted_at IS NULL AND flagged')).toBe(true);
    expect(samePredicate('(NOT "Archived")', 'NOT "Archived"')).toBe(true);
    expect(samePredicate('(deleted_at IS NULL)', 'deleted_at IS NOT NULL')).toBe(false);
  });
});

describe('missing-index over a snapshot', () => {
  beforeAll(() => loadModule());
  const byProject = statement('1', 'SELECT * FROM app.tasks WHERE project_id = $1 ORDER BY due_on LIMIT $2', 1000, 5000, 20_000);
  const setStatus = statement('2', 'UPDATE app.tasks SET status = $1 WHERE id = $2', 5000, 200, 5000);
  const byStatus = statement('3', 'SELECT * FROM app.tasks WHERE status = $1 AND project_id = $2', 100, 300, 2000);
  const options = { ...rule.options };

  it('counts skipped statements in the evidence: utility statements and texts the parser rejects', () => {
    const withheld = statement('4', '/* perfaudit: statement text withheld */', 1, 9000, 0);
    const findings = rule.check(snapshotWith([byProject, withheld, statement('5', 'VACUUM app.tasks', 1, 8000, 0)]), options);
    expect(findings.map((f) => [f.target.columns, f.evidence])).toEqual([[['project_id', 'due_on'], expect.objectContaining({
      statements: '1', statementsAnalyzed: 1, skippedUtility: 1, skippedUnparseable: 1, indexWrites: 2000, lostHotUpdates: 0, writeCostMs: 20,
    })]]);
  });

  it('weighs write cost, counting the HOT updates an index on an updated column would lose', () => {
    const cheap = rule.check(snapshotWith([byStatus, setStatus]), options);
    // (project_id, status): setStatus's 5000 rows stop being HOT; 1000 inserts + 1000 non-HOT updates + 5000.
    expect(cheap.map((f) => [f.target.columns, f.evidence.lostHotUpdates, f.evidence.indexWrites])).toEqual([[['project_id', 'status'], 5000, 7000]]);
    expect(rule.check(snapshotWith([byStatus, setStatus]), { ...options, indexWriteMs: 0.05 })).toEqual([]);
  });

  it('takes only the costliest statements', () => {
    expect(rule.check(snapshotWith([byProject, byStatus]), { ...options, topStatements: 1 }).map((f) => f.evidence.statements)).toEqual(['1']);
  });
});
