import { tagged, type Session } from '../connect/session.js';
import type { PlanStep } from '../plan/plan.js';
import { createdIndex, droppedIndex, type IndexRef } from './sql-names.js';

export interface IndexState {
  readonly valid: boolean;
  readonly partitioned: boolean;
  readonly constraint: string | null;
}

/** An index by name: whether it is valid, partitioned, and which constraints it backs. */
export async function indexState(session: Session, ref: IndexRef): Promise<IndexState | undefined> {
  const result = await session.client.query<IndexState>(tagged(`
    SELECT i.indisvalid AS valid, c.relkind = 'I' AS partitioned,
      (SELECT string_agg(con.conname, ', ') FROM pg_catalog.pg_constraint con WHERE con.conindid = c.oid) AS "constraint"
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
    WHERE n.nspname = $1 AND c.relname = $2`), [ref.schema, ref.name]);
  return result.rows[0];
}

/**
 * INVALID indexes with exactly the definition of `built` on its table, other than those
 * being built right now: what an earlier build of the same index left behind when it
 * failed or its server went away (a next plan names its index anew, since the leftover
 * holds the name).
 */
export async function invalidTwins(session: Session, built: IndexRef): Promise<IndexRef[]> {
  const result = await session.client.query<IndexRef>(tagged(`
    SELECT n.nspname AS schema, c.relname AS name
    FROM pg_catalog.pg_index b
    JOIN pg_catalog.pg_class bc ON bc.oid = b.indexrelid
    JOIN pg_catalog.pg_namespace bn ON bn.oid = bc.relnamespace
    JOIN pg_catalog.pg_index o ON o.indrelid = b.indrelid AND o.indexrelid <> b.indexrelid
    JOIN pg_catalog.pg_class c ON c.oid = o.indexrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE bn.nspname = $1 AND bc.relname = $2 AND NOT o.indisvalid AND c.relam = bc.relam
      AND o.indisunique = b.indisunique AND o.indkey = b.indkey AND o.indclass = b.indclass
      AND o.indcollation = b.indcollation AND o.indoption = b.indoption
      AND o.indexprs::text IS NOT DISTINCT FROM b.indexprs::text AND o.indpred::text IS NOT DISTINCT FROM b.indpred::text
      AND o.indexrelid NOT IN (SELECT index_relid FROM pg_catalog.pg_stat_progress_create_index WHERE index_relid IS NOT NULL)
    ORDER BY 2`), [built.schema, built.name]);
  return result.rows;
}

/**
 * Why a step is no longer needed or safe, or undefined to run it. An INVALID index under
 * the name a build is about to use is dropped first (`dropInvalid`): CREATE INDEX … IF NOT
 * EXISTS would otherwise keep it and build nothing.
 */
export async function recheck(step: PlanStep, session: Session, dropInvalid: (ref: IndexRef) => Promise<boolean>): Promise<string | undefined> {
  const { kind, sql } = step.action;
  if (kind === 'create-index') {
    const created = createdIndex(sql);
    if (!created) return undefined; // ATTACH PARTITION: idempotent
    const state = await indexState(session, created);
    if (state?.valid) return `index ${created.schema}.${created.name} already exists`;
    if (state && !(await dropInvalid(created))) return `the invalid index ${created.schema}.${created.name} in its way could not be dropped`;
    return undefined;
  }
  if (kind === 'drop-index') {
    const dropped = droppedIndex(sql);
    if (!dropped) return 'cannot tell which index it drops';
    const state = await indexState(session, dropped);
    if (!state) return `index ${dropped.schema}.${dropped.name} no longer exists`;
    if (state.constraint) return `index ${dropped.schema}.${dropped.name} backs constraint ${state.constraint}`;
    const kept = step.action.dependsOn;
    if (kept) {
      const keeping = await indexState(session, kept);
      if (!keeping?.valid) return `the index that makes the drop safe (${kept.schema}.${kept.name}) is gone or invalid`;
    }
  }
  return undefined;
}
