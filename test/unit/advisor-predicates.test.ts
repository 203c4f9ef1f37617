import { loadModule } from 'libpg-query';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Predicate } from '../../src/advisor/access.js';
import { extractShape } from '../../src/advisor/predicates.js';
import type { Snapshot, Table } from '../../src/collect/snapshot.js';

function table(oid: number, schema: string, name: string, columns: Array<[string, string]>): Table {
  return {
    oid, schema, name, kind: 'table', partitionOf: null, relpages: 100, reltuples: 10_000, reloptions: [], stats: null, io: null, toast: null,
    frozenXidAge: null, minMultiXactAge: null,
    columns: columns.map(([column, type], i) => ({ attnum: i + 1, name: column, type, notNull: false })),
  };
}

const documents = table(1, 'app', 'documents', [['id', 'bigint'], ['owner_id', 'integer'], ['type_id', 'integer'], ['uploaded_at', 'timestamp with time zone'], ['deleted_at', 'timestamp with time zone'], ['archived', 'boolean']]);
const owners = table(2, 'app', 'owners', [['id', 'integer'], ['email', 'text'], ['Region', 'text']]);
const notes = table(3, 'public', 'notes', [['id', 'integer'], ['document_id', 'bigint'], ['body', 'text']]);
const otherNotes = table(4, 'archive', 'notes', [['id', 'integer']]);

const snapshot = {
  format: 1, collectedAt: '2026-01-01T00:00:00Z', tables: [documents, owners, notes, otherNotes], indexes: [], foreignKeys: [],
  indexesInProgress: [], otherRelationNames: [], sequences: [], columnStats: [],
  workload: { unavailable: null, statements: [], hiddenStatements: 0, deallocations: null, statsResetAt: null, sampleSeconds: null },
  server: { version: '18.4', versionNum: 180004, database: 'app', currentUser: 'u', inRecovery: false, statsResetAt: null,
    startedAt: '2026-01-01T00:00:00Z', settings: {}, extensions: [], blockSize: 8192, databaseBlocks: { hit: 0, read: 0 },
    databaseFrozenXidAge: 0, databaseMinMultiXactAge: 0, horizonHolders: [] },
} satisfies Snapshot;

const eq = (attnum: number): Predicate => ({ kind: 'equality', attnum, via: 'constant', listLength: null });
const join = (attnum: number): Predicate => ({ kind: 'equality', attnum, via: 'join', listLength: null });

/** The accesses of a statement, by table name. */
function accesses(sql: string): Array<{ table: string | undefined; predicates: readonly Predicate[]; sort: readonly number[] }> {
  const result = extractShape(sql, snapshot);
  if (!result.ok) throw new Error(`${result.reason}: ${result.detail}`);
  return result.shape.accesses.map((access) => ({
    table: snapshot.tables.find((t) => t.oid === access.tableOid)?.name, predicates: access.predicates, sort: access.sortAttnums,
  }));
}

describe('extractShape', () => {
  beforeAll(() => loadModule());

  it('finds equality columns and the ORDER BY of a LIMITed query, through an alias', () => {
    expect(accesses('SELECT d.* FROM app.documents d WHERE d.owner_id = $1 AND type_id = $2 ORDER BY d.uploaded_at DESC LIMIT $3'))
      .toEqual([{ table: 'documents', predicates: [eq(2), eq(3)], sort: [4] }]);
  });

  it('ignores ORDER BY without LIMIT', () => {
    expect(accesses('SELECT * FROM app.documents WHERE owner_id = $1 ORDER BY uploaded_at')[0]?.sort).toEqual([]);
  });

  it('reads ranges, BETWEEN, IN lists, ANY, IS NULL and boolean tests', () => {
    expect(accesses(`SELECT 1 FROM app.documents WHERE uploaded_at > $1 AND id BETWEEN $2 AND $3 AND type_id IN ($4, $5, $6)
      AND owner_id = ANY($7) AND deleted_at IS NULL AND NOT archived`)[0]?.predicates).toEqual([
      { kind: 'range', attnum: 4, bounded: false },
      { kind: 'range', attnum: 1, bounded: true },
      { kind: 'equality', attnum: 3, via: 'list', listLength: 3 },
      { kind: 'equality', attnum: 2, via: 'list', listLength: null },
      { kind: 'null', attnum: 5, isNull: true },
      { kind: 'boolean', attnum: 6, value: false },
    ]);
    expect(accesses('SELECT 1 FROM app.documents WHERE archived AND deleted_at IS NOT NULL AND archived = false')[0]?.predicates).toEqual([
      { kind: 'boolean', attnum: 6, value: true }, { kind: 'null', attnum: 5, isNull: false }, { kind: 'boolean', attnum: 6, value: false },
    ]);
  });

  it('treats an expression of parameters as a constant, and a function of the column as nothing', () => {
    expect(accesses('SELECT 1 FROM app.documents WHERE owner_id = $1 % $2 AND lower(type_id::text) = $3')[0]?.predicates).toEqual([eq(2)]);
  });

  it('finds join keys on both sides, from ON, USING and WHERE', () => {
    expect(accesses('SELECT * FROM app.owners o JOIN app.documents d ON d.owner_id = o.id WHERE o.email = $1')).toEqual([
      { table: 'owners', predicates: [join(1), eq(2)], sort: [] },
      { table: 'documents', predicates: [join(2)], sort: [] },
    ]);
    expect(accesses('SELECT * FROM app.documents d, notes n WHERE n.document_id = d.id AND d.owner_id = $1').map((a) => a.predicates)).toEqual([
      [join(1), eq(2)], [join(2)],
    ]);
  });

  it('does not narrow the preserved side of an outer join by its ON terms', () => {
    expect(accesses('SELECT * FROM app.documents d LEFT JOIN notes n ON n.document_id = d.id AND d.type_id = $1')).toEqual([
      { table: 'notes', predicates: [join(2)], sort: [] },
    ]);
  });

  it('resolves unqualified names along the database\'s search_path', () => {
    const onPath = { ...snapshot, server: { ...snapshot.server, settings: { search_path: '"$user", archive, public' } } };
    const result = extractShape('SELECT * FROM notes WHERE id = $1', onPath);
    expect(result.ok && result.shape.accesses.map((a) => a.tableOid)).toEqual([4]);
  });

  it('resolves CTEs as CTEs (even named like a table), quoted names, and unqualified names in public', () => {
    expect(accesses(`WITH documents AS (SELECT * FROM app.owners WHERE "Region" = $1)
      SELECT * FROM documents WHERE owner_id = $2`)).toEqual([{ table: 'owners', predicates: [eq(3)], sort: [] }]);
    expect(accesses('SELECT * FROM notes WHERE document_id = $1')).toEqual([{ table: 'notes', predicates: [eq(2)], sort: [] }]);
  });

  it('analyses OR branches: one access each, or only the common terms when a branch leaves the table unconstrained', () => {
    expect(accesses('SELECT * FROM app.documents WHERE deleted_at IS NULL AND (owner_id = $1 OR type_id = $2)').map((a) => a.predicates)).toEqual([
      [{ kind: 'null', attnum: 5, isNull: true }, eq(2)], [{ kind: 'null', attnum: 5, isNull: true }, eq(3)],
    ]);
    expect(accesses('SELECT * FROM app.documents WHERE owner_id = $1 AND (type_id = $2 OR uploaded_at::date = $3)').map((a) => a.predicates)).toEqual([
      [eq(2), eq(3)], [eq(2)],
    ]);
    expect(accesses('SELECT * FROM app.documents WHERE type_id = $1 OR uploaded_at::date = $2')).toEqual([]);
  });

  it('follows subqueries: IN (SELECT …) is a join key on both sides, EXISTS correlates', () => {
    expect(accesses('SELECT * FROM app.documents WHERE owner_id IN (SELECT id FROM app.owners WHERE email = $1)')).toEqual([
      { table: 'owners', predicates: [join(1), eq(2)], sort: [] },
      { table: 'documents', predicates: [join(2)], sort: [] },
    ]);
    expect(accesses('SELECT * FROM app.documents d WHERE EXISTS (SELECT 1 FROM notes n WHERE n.document_id = d.id AND n.body = $1)')).toEqual([
      { table: 'notes', predicates: [join(2), eq(3)], sort: [] },
    ]);
  });

  it('reads each arm of a set operation, and INSERT … SELECT', () => {
    expect(accesses('SELECT id FROM app.documents WHERE owner_id = $1 UNION ALL SELECT id FROM notes WHERE document_id = $2')).toEqual([
      { table: 'documents', predicates: [eq(2)], sort: [] }, { table: 'notes', predicates: [eq(2)], sort: [] },
    ]);
    expect(accesses('INSERT INTO notes (id, document_id) SELECT $1, id FROM app.documents WHERE type_id = $2')).toEqual([
      { table: 'documents', predicates: [eq(3)], sort: [] },
    ]);
  });

  it('reads UPDATE and DELETE, and records the columns an UPDATE sets', () => {
    const result = extractShape('UPDATE app.documents SET type_id = $1, archived = $2 WHERE owner_id = $3', snapshot);
    expect(result).toEqual({ ok: true, shape: {
      accesses: [{ tableOid: 1, predicates: [eq(2)], sortAttnums: [] }], updates: [{ tableOid: 1, attnums: [3, 6] }],
    } });
    expect(accesses('DELETE FROM notes USING app.documents d WHERE notes.document_id = d.id AND d.deleted_at IS NOT NULL')).toEqual([
      { table: 'notes', predicates: [join(2)], sort: [] },
      { table: 'documents', predicates: [join(1), { kind: 'null', attnum: 5, isNull: false }], sort: [] },
    ]);
  });

  it('skips utility statements and texts the parser rejects', () => {
    expect(extractShape('VACUUM app.documents', snapshot)).toMatchObject({ ok: false, reason: 'utility', detail: 'VacuumStmt' });
    expect(extractShape('SELECT * FROM WHERE', snapshot)).toMatchObject({ ok: false, reason: 'unparseable' });
    expect(extractShape('/* withheld */', snapshot)).toMatchObject({ ok: false, reason: 'unparseable' });
  });

  it('leaves ambiguous and unknown names unresolved', () => {
    expect(accesses('SELECT * FROM app.documents d JOIN app.owners o ON true WHERE id = $1')).toEqual([]);
    expect(accesses('SELECT * FROM nowhere WHERE id = $1')).toEqual([]);
  });
});
