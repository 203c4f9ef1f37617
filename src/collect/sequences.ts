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
// directly; a DEFAULT nextval(...) depends on it through its pg_attrdef entry.
// pg_sequence_last_value() only where the role may read the sequence, as pg_sequences does,
// and not locked by another session (locks.ts).
const SEQUENCES_SQL = `
  WITH ${LOCKED_CTE}, feeds AS (
    SELECT d.objid AS seq, d.refobjid AS table_oid, d.refobjsubid AS attnum
    FROM pg_depend d
    WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
    UNION
    SELECT d.refobjid, ad.adrelid, ad.adnum
    FROM pg_depend d JOIN pg_attrdef ad ON ad.oid = d.objid
    WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass
  )
  SELECT s.seqrelid AS oid, n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS type,
         s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max, s.seqcycle AS cycle,
         CASE WHEN has_sequence_privilege(c.oid, 'SELECT,USAGE') AND lk.pid IS NULL THEN pg_sequence_last_value(c.oid)::text END AS last_value,
         lk.pid AS locked_by,
         (SELECT json_agg(json_build_object('table_oid', f.table_oid::bigint, 'attnum', f.attnum) ORDER BY f.table_oid, f.attnum)
          FROM feeds f WHERE f.seq = s.seqrelid) AS feeds
  FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN locked lk ON lk.relation = s.seqrelid
  WHERE ${userSchema('n.nspname')}`;

/**
 * Sequences with their ranges, last values and the columns they feed: one query. `locked`:
 * those whose last value could not be read, to the pid of the session locking them.
 */
export async function collectSequences(db: Kysely<unknown>): Promise<{ sequences: Sequence[]; locked: Map<number, number> }> {
  const rows = await catalogQuery<SequenceRow>(db, SEQUENCES_SQL);
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
