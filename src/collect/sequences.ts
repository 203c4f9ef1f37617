import type { Kysely } from 'kysely';
import { catalogQuery, userSchema } from './catalog-query.js';
import { LOCKED_CTE } from './locks.js';
import type { Sequence } from './snapshot.js';

interface SequenceRow {
  oid: number;
  schema: string;
  name: string;
  type: string;
  increment: string;
  min: string;
  max: string;
  cycle: boolean;
  last_value: string | null;
  feeds: Array<{ table_oid: number; attnum: number }> | null;
  locked_by: number | null;
}

// The columns a sequence feeds: serial (auto) and identity (internal) columns depend on it
// directly; a DEFAULT nextval(...) depends on it through its pg_attrdef entry. Aggregated in
// one pass and joined, not a subquery per sequence: with the catalog statistics autovacuum
// has not caught up with after a large migration, the planner ran that subquery as a scan of
// all of pg_depend per sequence (over 30 s at 10,000 sequences).
//
// Last values only where the role may read the sequence, as pg_sequences does, and not on a
// sequence another session locks (reading waits for it: locks.ts). pg_sequence_last_value()
// keeps each sequence locked until the transaction ends: on a default server (64 locks per
// connection) a scan fails with "out of shared memory" somewhere past 10,000 sequences.
// PostgreSQL 18's pg_get_sequence_data() releases its lock; it wants SELECT, so a sequence
// the role may only USE still goes through pg_sequence_last_value().
function sequencesSql(versionNum: number): string {
  const pg18 = versionNum >= 180000;
  // CASE, so a locked sequence is never read (a lateral join filter would still call the function).
  const lastValue = pg18
    ? `CASE WHEN lk.pid IS NULL THEN (
         SELECT CASE WHEN sd.is_called THEN sd.last_value::text
                     WHEN sd.is_called IS NULL AND has_sequence_privilege(c.oid, 'USAGE') THEN pg_sequence_last_value(c.oid)::text END
         FROM pg_get_sequence_data(c.oid) sd) END`
    : `CASE WHEN lk.pid IS NULL AND has_sequence_privilege(c.oid, 'SELECT,USAGE') THEN pg_sequence_last_value(c.oid)::text END`;
  return `
  WITH ${LOCKED_CTE}, feeds AS (
    SELECT d.objid AS seq, d.refobjid AS table_oid, d.refobjsubid AS attnum
    FROM pg_depend d JOIN pg_sequence s ON s.seqrelid = d.objid
    WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
    UNION
    SELECT d.refobjid, ad.adrelid, ad.adnum
    FROM pg_depend d JOIN pg_attrdef ad ON ad.oid = d.objid JOIN pg_sequence s ON s.seqrelid = d.refobjid
    WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass
  ), fed AS (
    SELECT seq, json_agg(json_build_object('table_oid', table_oid::bigint, 'attnum', attnum) ORDER BY table_oid, attnum) AS feeds
    FROM feeds GROUP BY seq
  )
  SELECT s.seqrelid AS oid, n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS type,
         s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max, s.seqcycle AS cycle,
         ${lastValue} AS last_value, lk.pid AS locked_by, fed.feeds
  FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN fed ON fed.seq = s.seqrelid
  LEFT JOIN locked lk ON lk.relation = s.seqrelid
  WHERE ${userSchema('n.nspname')}`;
}

/**
 * Sequences with their ranges, last values and the columns they feed: one query. `locked`:
 * those whose last value could not be read, to the pid of the session locking them.
 */
export async function collectSequences(db: Kysely<unknown>, versionNum: number): Promise<{ sequences: Sequence[]; locked: Map<number, number> }> {
  const rows = await catalogQuery<SequenceRow>(db, sequencesSql(versionNum));
  const locked = new Map(rows.flatMap((row) => (row.locked_by === null ? [] : [[row.oid, row.locked_by] as const])));
  return { sequences: rows.map((row) => ({
    oid: row.oid,
    schema: row.schema,
    name: row.name,
    type: row.type,
    increment: row.increment,
    min: row.min,
    max: row.max,
    cycle: row.cycle,
    lastValue: row.last_value,
    feeds: (row.feeds ?? []).map((feed) => ({ tableOid: feed.table_oid, attnum: feed.attnum })),
  })), locked };
}
