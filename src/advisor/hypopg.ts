import { CompiledQuery } from 'kysely';
import { LOCK_NOT_AVAILABLE, tagged, type Session } from '../connect/session.js';

/**
 * Verification of index proposals with hypopg: the planner's cost of each normalized
 * pg_stat_statements statement before and after a hypothetical index (or with a real
 * index hidden). Nothing here writes: hypopg keeps its indexes in backend memory, so
 * this runs in the scan's read-only session (checked on PostgreSQL 15 with hypopg 1.3).
 *
 * Call it outside a transaction: each call opens and rolls back its own, so that
 * `SET LOCAL`s vanish and an aborted statement is undone by its savepoint alone.
 */

/** A statement's generic plan: its total cost and the names of the indexes it reads. */
export interface Planned { readonly statement: string; readonly cost: number; readonly indexes: readonly string[] }
/** A statement that could not be explained (utility statement, untyped parameter, …). */
export interface Skipped { readonly statement: string; readonly skipped: string }
export type Explained = Planned | Skipped;

export interface IndexVerdict { readonly statement: string; readonly before: number; readonly after: number; readonly usesIndex: boolean }
/** `after` is null when the index could not be hidden (hypopg missing or older than 1.4). */
export interface DropVerdict { readonly statement: string; readonly before: number; readonly after: number | null; readonly changed: boolean; readonly usedIndex: boolean }

export interface Verification<V> {
  /** Why nothing could be verified (hypopg missing or too old, index DDL rejected), else null. */
  readonly error: string | null;
  /** How the verdicts were reached when not the full way (e.g. no hypopg_hide_index), else null. */
  readonly note: string | null;
  readonly statements: ReadonlyArray<V | Skipped>;
}

export interface ExplainOptions {
  /**
   * search_path to resolve the statements' unqualified names. The scan session runs with
   * `search_path=pg_catalog`, but the application's statements were planned under its own;
   * PostgreSQL's default unless told.
   */
  readonly searchPath?: string;
}

const DEFAULT_SEARCH_PATH = '"$user", public';
/**
 * Planning a statement takes ACCESS SHARE on every relation it reads, which waits behind
 * another session's ACCESS EXCLUSIVE lock: verification waits this long at most, once per
 * statement per session (`lockedOut` remembers the statements that waited in vain).
 */
const EXPLAIN_LOCK_TIMEOUT = '200ms';
const lockedOut = new WeakMap<Session, Set<string>>();
const PREPARED = 'perfaudit_generic_plan';
const LOCKED_OUT = `a relation it reads is locked by another session (waited ${EXPLAIN_LOCK_TIMEOUT})`;
const SAVEPOINT = 'perfaudit_explain';

export const isSkipped = <T extends object>(e: T | Skipped): e is Skipped => 'skipped' in e;

/** The total cost of a normalized statement's generic plan, or why it could not be had. */
export async function explainCost(session: Session, statement: string, options: ExplainOptions = {}): Promise<Explained> {
  const server = await serverInfo(session);
  return inTransaction(session, options, () => explain(session, server, statement));
}

/** Costs of `statements` without and with the hypothetical index `createIndexSql`. */
export async function verifyIndex(
  session: Session, statements: readonly string[], createIndexSql: string, options: ExplainOptions = {},
): Promise<Verification<IndexVerdict>> {
  const server = await serverInfo(session);
  if (!server.hypopg) return { error: 'the hypopg extension is not installed in this database', note: null, statements: [] };
  const hypopg = server.hypopg;
  return inTransaction(session, options, async () => {
    const before = await explainAll(session, server, statements);
    let name: string;
    try {
      const rows = await run<{ indexname: string }>(session, `SELECT * FROM ${hypopg}.hypopg_create_index($1)`, [createIndexSql]);
      if (!rows[0]) return { error: `hypopg created no index from: ${createIndexSql}`, note: null, statements: [] };
      name = rows[0].indexname;
    } catch (error) {
      const why = isLockTimeout(error) ? `its table is locked by another session (waited ${EXPLAIN_LOCK_TIMEOUT})` : `hypopg rejected the index: ${message(error)}`;
      return { error: why, note: null, statements: [] };
    }
    try {
      const after = await explainAll(session, server, statements);
      return { error: null, note: null, statements: pair(before, after, (b, a) => ({ statement: b.statement, before: b.cost, after: a.cost, usesIndex: a.indexes.includes(name) })) };
    } finally {
      // Hypothetical indexes outlive the transaction: remove them before anything else plans.
      await run(session, `SELECT ${hypopg}.hypopg_reset()`);
    }
  });
}

/**
 * Which statements' plans change when the real index `indexOid` is dropped, tried by
 * hiding it (hypopg_hide_index, hypopg 1.4+). Without that, from the current plans alone:
 * a plan that reads the index must change, one that does not cannot (the planner only
 * loses an alternative it did not pick), but the cost after is unknown (null).
 */
export async function verifyDrop(
  session: Session, statements: readonly string[], indexOid: number, options: ExplainOptions = {},
): Promise<Verification<DropVerdict>> {
  const server = await serverInfo(session);
  const hypopg = server.canHide ? server.hypopg : null;
  const [index] = await run<{ relname: string }>(session, 'SELECT relname FROM pg_catalog.pg_class WHERE oid = $1 AND relkind IN (\'i\', \'I\')', [indexOid]);
  if (!index) return { error: `no index with oid ${indexOid}`, note: null, statements: [] };
  const note = hypopg ? null : server.hypopg
    ? `hypopg ${server.hypopgVersion} cannot hide indexes (hypopg_hide_index needs 1.4): plans that read the index are taken to change, cost after unknown`
    : 'hypopg is not installed: plans that read the index are taken to change, cost after unknown';
  return inTransaction(session, options, async () => {
    const before = await explainAll(session, server, statements);
    if (!hypopg) {
      return {
        error: null, note,
        statements: before.map((b) => isSkipped(b) ? b : {
          statement: b.statement, before: b.cost, after: null, changed: b.indexes.includes(index.relname), usedIndex: b.indexes.includes(index.relname),
        }),
      };
    }
    await run(session, `SELECT ${hypopg}.hypopg_hide_index($1)`, [indexOid]);
    try {
      const after = await explainAll(session, server, statements);
      return {
        error: null, note,
        statements: pair(before, after, (b, a) => ({
          statement: b.statement, before: b.cost, after: a.cost,
          changed: b.cost !== a.cost || b.indexes.join() !== a.indexes.join(),
          usedIndex: b.indexes.includes(index.relname),
        })),
      };
    } finally {
      await run(session, `SELECT ${hypopg}.hypopg_unhide_all_indexes()`);
    }
  });
}

interface ServerInfo { versionNum: number; hypopg: string | null; hypopgVersion: string | null; canHide: boolean }

// hypopg's functions live in whatever schema it was installed in, and the scan's
// search_path is pg_catalog alone: qualify them (regnamespace::text quotes as needed).
async function serverInfo(session: Session): Promise<ServerInfo> {
  const [row] = await run<{ version_num: number; schema: string | null; version: string | null; can_hide: boolean }>(session, `
    SELECT current_setting('server_version_num')::int AS version_num,
           e.extnamespace::regnamespace::text AS schema, e.extversion AS version,
           EXISTS (SELECT FROM pg_catalog.pg_proc p WHERE p.proname = 'hypopg_hide_index' AND p.pronamespace = e.extnamespace) AS can_hide
      FROM (SELECT) AS one LEFT JOIN pg_catalog.pg_extension e ON e.extname = 'hypopg'`);
  return { versionNum: row?.version_num ?? 0, hypopg: row?.schema ?? null, hypopgVersion: row?.version ?? null, canHide: row?.can_hide ?? false };
}

async function inTransaction<T>(session: Session, options: ExplainOptions, work: () => Promise<T>): Promise<T> {
  await run(session, 'BEGIN');
  try {
    // force_generic_plan matters only for the PREPARE path (before PG16): without it the
    // first EXECUTEs get custom plans for the NULL arguments, which say nothing.
    await run(session, `SELECT pg_catalog.set_config('search_path', $1, true), pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', true),
      pg_catalog.set_config('lock_timeout', '${EXPLAIN_LOCK_TIMEOUT}', true)`, [options.searchPath ?? DEFAULT_SEARCH_PATH]);
    return await work();
  } finally {
    await run(session, 'ROLLBACK');
  }
}

async function explainAll(session: Session, server: ServerInfo, statements: readonly string[]): Promise<Explained[]> {
  const out: Explained[] = [];
  for (const statement of statements) out.push(await explain(session, server, statement));
  return out;
}

// One statement, inside the caller's transaction, under a savepoint so a failure
// (syntax, utility statement, unknown parameter type, missing table) skips it alone.
async function explain(session: Session, server: ServerInfo, statement: string): Promise<Explained> {
  const text = statement.trim().replace(/[;\s]+$/, '');
  // The text is sent as a simple query (it holds $n placeholders that must not be bound):
  // refuse anything that could be more than one statement.
  if (text.includes(';')) return { statement, skipped: 'contains a semicolon (possibly several statements)' };
  const waited = lockedOut.get(session) ?? new Set<string>();
  lockedOut.set(session, waited);
  if (waited.has(text)) return { statement, skipped: LOCKED_OUT };
  let prepared = false;
  await run(session, `SAVEPOINT ${SAVEPOINT}`);
  try {
    let rows: Array<{ 'QUERY PLAN': unknown }>;
    if (server.versionNum >= 160000) {
      rows = await run(session, `EXPLAIN (GENERIC_PLAN, FORMAT JSON) ${text}`);
    } else {
      // The server infers the parameters' types; EXECUTE needs one argument for each, and
      // NULLs are fine because a generic plan never looks at them.
      await run(session, `PREPARE ${PREPARED} AS ${text}`);
      prepared = true;
      const [count] = await run<{ n: number }>(session, 'SELECT pg_catalog.cardinality(parameter_types) AS n FROM pg_catalog.pg_prepared_statements WHERE name = $1', [PREPARED]);
      const n = count?.n ?? 0;
      rows = await run(session, `EXPLAIN (FORMAT JSON) EXECUTE ${PREPARED}${n > 0 ? `(${Array(n).fill('NULL').join(', ')})` : ''}`);
    }
    await run(session, `RELEASE SAVEPOINT ${SAVEPOINT}`);
    const raw = rows[0]?.['QUERY PLAN']; // json, which pg parses; text on an odd driver setup
    const plan = ((typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{ Plan?: Record<string, unknown> }> | undefined)?.[0]?.Plan;
    const cost = plan?.['Total Cost'];
    if (typeof cost !== 'number') return { statement, skipped: 'EXPLAIN returned no plan cost' };
    return { statement, cost, indexes: indexNames(plan) };
  } catch (error) {
    await run(session, `ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
    if (!isLockTimeout(error)) return { statement, skipped: message(error) };
    waited.add(text);
    return { statement, skipped: LOCKED_OUT };
  } finally {
    // Prepared statements are not transactional: they survive the rollback.
    if (prepared) await run(session, `DEALLOCATE ${PREPARED}`);
  }
}

/** Every "Index Name" in a JSON plan tree (index, index-only and bitmap index scans). */
function indexNames(node: unknown, into: string[] = []): string[] {
  if (Array.isArray(node)) for (const child of node) indexNames(child, into);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'Index Name' && typeof value === 'string') into.push(value);
      else if (typeof value === 'object') indexNames(value, into);
    }
  }
  return into;
}

function pair<V>(before: Explained[], after: Explained[], verdict: (b: Planned, a: Planned) => V): Array<V | Skipped> {
  return before.map((b, i) => {
    const a = after[i]!;
    if (isSkipped(b)) return b;
    if (isSkipped(a)) return a;
    return verdict(b, a);
  });
}

/** Every statement goes through tagged(), so pg_stat_statements readers can exclude perfaudit's own. */
async function run<Row = Record<string, unknown>>(session: Session, text: string, params: readonly unknown[] = []): Promise<Row[]> {
  const result = await session.db.executeQuery<Row>(CompiledQuery.raw(tagged(text), [...params]));
  return [...result.rows];
}

function isLockTimeout(error: unknown): boolean {
  return (error as { code?: string }).code === LOCK_NOT_AVAILABLE;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
