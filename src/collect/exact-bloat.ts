/**
 * `scan --exact`: bloat measured with pgstattuple instead of estimated. Opt-in, because it
 * reads the relations themselves (one statement per candidate): `pgstattuple_approx` for
 * tables (it skips all-visible pages using the visibility map) and `pgstatindex` for btree
 * indexes. Only candidates at or above the rules' size thresholds are measured.
 */
import { quoteIdent } from '../plan/quote.js';
import type { Session } from '../connect/session.js';
import { catalogQuery } from './catalog-query.js';
import { LOCKED_CTE } from './locks.js';
import { fillfactorOf } from './row-width.js';
import type { ExactBloat, ExactFigure, Index, Server, Snapshot, Table } from './snapshot.js';

type Candidate = Pick<Table | Index, 'oid' | 'reloptions'>;

interface TableRow { table_len: string; dead_tuple_len: string; approx_free_space: string }
interface IndexRow { index_size: string; leaf_pages: string; empty_pages: string; deleted_pages: string; avg_leaf_density: number | null }

/** Measures the given tables and btree indexes; says why when pgstattuple is not installed. */
export async function exactBloat(session: Session, server: Pick<Server, 'extensions' | 'blockSize' | 'currentUser'>, tables: readonly Candidate[], indexes: readonly Candidate[]): Promise<ExactBloat> {
  const extension = server.extensions.find((e) => e.name === 'pgstattuple');
  if (!extension) return { unavailable: 'pgstattuple is not installed in this database (CREATE EXTENSION pgstattuple)', tables: {}, indexes: {} };
  const schema = quoteIdent(extension.schema);
  const measuredTables: Record<string, ExactFigure> = {};
  const measuredIndexes: Record<string, ExactFigure> = {};
  let failure: string | null = null;
  for (const table of tables) {
    try {
      const [row] = await catalogQuery<TableRow>(session.db,
        `SELECT table_len, dead_tuple_len, approx_free_space FROM ${schema}.pgstattuple_approx(${Number(table.oid)}::oid::regclass)`);
      if (row) measuredTables[String(table.oid)] = tableFigure(row, fillfactorOf(table.reloptions, 100));
    } catch (error) {
      failure ??= failureOf(error, server.currentUser);
    }
  }
  for (const index of indexes) {
    try {
      const [row] = await catalogQuery<IndexRow>(session.db,
        `SELECT index_size, leaf_pages, empty_pages, deleted_pages, avg_leaf_density FROM ${schema}.pgstatindex(${Number(index.oid)}::oid::regclass)`);
      if (row) measuredIndexes[String(index.oid)] = indexFigure(row, fillfactorOf(index.reloptions, 90), server.blockSize);
    } catch (error) {
      failure ??= failureOf(error, server.currentUser);
    }
  }
  const none = tables.length + indexes.length > 0 && Object.keys(measuredTables).length + Object.keys(measuredIndexes).length === 0;
  return { unavailable: none && failure ? `pgstattuple failed: ${failure}` : null, tables: measuredTables, indexes: measuredIndexes };
}

// pgstattuple's functions are granted to pg_stat_scan_tables, not to PUBLIC.
function failureOf(error: unknown, role: string): string {
  const { code, message } = error as { code?: string; message?: string };
  return code === '42501' ? `${message}: GRANT pg_stat_scan_tables TO ${quoteIdent(role)};` : String(message ?? error);
}

/** Dead tuples plus free space, less the room a fillfactor below 100 keeps free on purpose. */
export function tableFigure(row: TableRow, fillfactor: number): ExactFigure {
  const length = Number(row.table_len);
  const reserve = (length * (100 - fillfactor)) / 100;
  const wastedBytes = Math.max(0, Number(row.dead_tuple_len) + Number(row.approx_free_space) - reserve);
  return { wastedBytes, share: length > 0 ? wastedBytes / length : 0 };
}

/** Leaf space beyond the fillfactor's, plus empty and deleted pages. */
export function indexFigure(row: IndexRow, fillfactor: number, blockSize: number): ExactFigure {
  const size = Number(row.index_size);
  const leaves = Number(row.leaf_pages);
  const density = row.avg_leaf_density !== null && Number.isFinite(row.avg_leaf_density) ? row.avg_leaf_density : fillfactor;
  const wastedPages = leaves * Math.max(0, 1 - density / fillfactor) + Number(row.empty_pages) + Number(row.deleted_pages);
  const wastedBytes = Math.min(size, wastedPages * blockSize);
  return { wastedBytes, share: size > 0 ? wastedBytes / size : 0 };
}

/** The tables and btree indexes the bloat rules would judge: at or above their size thresholds. */
export function bloatCandidates(snapshot: Snapshot, minTableBytes: number, minIndexBytes: number): { tables: Table[]; indexes: Index[] } {
  const blockSize = snapshot.server.blockSize;
  return {
    tables: snapshot.tables.filter((t) => t.kind === 'table' && t.relpages * blockSize >= minTableBytes),
    indexes: snapshot.indexes.filter((i) => i.method === 'btree' && i.valid && i.ready && i.relpages * blockSize >= minIndexBytes),
  };
}

/**
 * The snapshot with measured bloat for the candidates. pgstattuple reads a relation under
 * ACCESS SHARE: candidates another session has locked (locks.ts) keep their estimate.
 */
export async function withExactBloat(session: Session, snapshot: Snapshot, minTableBytes: number, minIndexBytes: number): Promise<Snapshot> {
  const { tables, indexes } = bloatCandidates(snapshot, minTableBytes, minIndexBytes);
  const locked = new Set((await catalogQuery<{ relation: number }>(session.db, `WITH ${LOCKED_CTE} SELECT relation FROM locked`)).map((row) => row.relation));
  const free = <T extends { oid: number }>(candidates: readonly T[], tableOf: (candidate: T) => number) =>
    candidates.filter((candidate) => !locked.has(candidate.oid) && !locked.has(tableOf(candidate)));
  return { ...snapshot, exactBloat: await exactBloat(session, snapshot.server, free(tables, (t) => t.oid), free(indexes, (i) => i.tableOid)) };
}
