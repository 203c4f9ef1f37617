/**
 * Catalog rows are read without locks, but deparsing an index's predicate or expressions
 * (pg_get_expr, pg_get_indexdef) takes ACCESS SHARE on its table for an instant, and so does
 * reading a sequence's last value on the sequence (checked on PostgreSQL 18). That waits
 * behind another session's ACCESS EXCLUSIVE lock, whether held or awaited (a waiting
 * request queues every later one). So the collect queries read pg_locks once, in the same
 * statement (LOCKED_CTE), and skip those calls on such relations; the objects they could
 * not read are left out of the snapshot (leaveOutLocked) and reported (lockedSkips).
 */
import type { LockedObject, Snapshot, Table } from './snapshot.js';

/** `locked(relation, pid)`: relations another session holds or awaits in ACCESS EXCLUSIVE mode, with a holder first. */
export const LOCKED_CTE = `locked AS MATERIALIZED (
    SELECT l.relation, (array_agg(l.pid ORDER BY NOT l.granted, l.pid))[1] AS pid
    FROM pg_locks l
    WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock' AND l.pid <> pg_backend_pid()
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    GROUP BY l.relation)`;

/**
 * The snapshot without the tables whose index definitions could not be read (with their
 * whole partition tree, so no rule judges a tree by a part of it) and without the
 * sequences whose last value could not; their names stay taken for new indexes.
 * Both maps go from oid to the pid of the session holding the lock.
 */
export function leaveOutLocked(snapshot: Snapshot, tables: ReadonlyMap<number, number>, sequences: ReadonlyMap<number, number>): Snapshot {
  if (tables.size === 0 && sequences.size === 0) return snapshot;
  const left = partitionTrees(snapshot.tables, [...tables.keys()]);
  const keep = (oid: number) => !left.has(oid);
  const inTree = new Set(snapshot.tables.flatMap((t) => (t.partitionOf === null ? [] : [t.oid, t.partitionOf])));
  const locked: LockedObject[] = [
    ...snapshot.tables.filter((t) => tables.has(t.oid))
      .map((t) => ({ kind: inTree.has(t.oid) ? 'partition' as const : 'table' as const, schema: t.schema, name: t.name, pid: tables.get(t.oid) ?? 0 })),
    ...snapshot.sequences.filter((s) => sequences.has(s.oid))
      .map((s) => ({ kind: 'sequence' as const, schema: s.schema, name: s.name, pid: sequences.get(s.oid) ?? 0 })),
  ];
  const names = [
    ...snapshot.tables.filter((t) => left.has(t.oid)),
    ...snapshot.indexes.filter((i) => left.has(i.tableOid)),
    ...snapshot.sequences.filter((s) => sequences.has(s.oid)),
  ].map(({ schema, name }) => ({ schema, name }));
  return {
    ...snapshot,
    tables: snapshot.tables.filter((t) => keep(t.oid)),
    indexes: snapshot.indexes.filter((i) => keep(i.tableOid)),
    foreignKeys: snapshot.foreignKeys.filter((fk) => keep(fk.tableOid) && keep(fk.referencedTableOid)),
    columnStats: snapshot.columnStats.filter((c) => keep(c.tableOid)),
    sequences: snapshot.sequences.filter((s) => !sequences.has(s.oid)),
    otherRelationNames: [...snapshot.otherRelationNames, ...names],
    locked,
  };
}

/** The given tables with every table of their partition trees (root and all descendants). */
function partitionTrees(tables: readonly Table[], oids: readonly number[]): Set<number> {
  const parent = new Map(tables.map((t) => [t.oid, t.partitionOf]));
  const rootOf = (oid: number): number => {
    const up = parent.get(oid);
    return up ? rootOf(up) : oid;
  };
  const roots = new Set(oids.map(rootOf));
  return new Set(tables.filter((t) => roots.has(rootOf(t.oid))).map((t) => t.oid));
}

/**
 * What the report lists as skipped for the objects left out: under rule `*` (every rule)
 * for a table, under sequence-exhaustion for a sequence.
 */
export function lockedSkips(snapshot: Snapshot): Array<{ rule: string; reason: string }> {
  return (snapshot.locked ?? []).map(({ kind, schema, name, pid }) => ({
    rule: kind === 'sequence' ? 'sequence-exhaustion' : '*',
    reason: `${schema}.${name}${kind === 'partition' ? ' and the rest of its partition tree' : ''} left out: session ${pid} `
      + `holds or awaits an ACCESS EXCLUSIVE lock on it, and reading its ${kind === 'sequence' ? 'last value' : 'index definitions'} would wait`,
  }));
}
