import { progress } from '../commands/output.js';
import type { ConnectionSettings } from '../connect/options.js';
import { openSession, tagged, type Session } from '../connect/session.js';

const POLL_MS = 1_000;
/** Without a terminal, a plain line at most this often (a log should not fill up with them). */
const PLAIN_EVERY_MS = 5_000;

export type WatchedKind = 'create-index' | 'vacuum';

export interface ProgressWatch {
  /** Stops polling and closes the second connection; never throws. */
  stop(): Promise<void>;
}

interface Row {
  phase: string;
  done: string | null;
  total: string | null;
  tuplesDone?: string | null;
  tuplesTotal?: string | null;
}

const QUERIES: Record<WatchedKind, string> = {
  'create-index': `SELECT phase, blocks_done AS done, blocks_total AS total, tuples_done AS "tuplesDone", tuples_total AS "tuplesTotal"
    FROM pg_catalog.pg_stat_progress_create_index WHERE pid = $1`,
  vacuum: `SELECT phase, heap_blks_scanned AS done, heap_blks_total AS total
    FROM pg_catalog.pg_stat_progress_vacuum WHERE pid = $1`,
};

/** `building index: scanning table 42% (1234/2930 blocks)`; bigint columns arrive as strings. */
function describe(kind: WatchedKind, row: Row): string {
  const what = kind === 'create-index' ? 'building index' : 'vacuuming';
  const ratio = (done: string | null | undefined, total: string | null | undefined, unit: string) => {
    const d = Number(done ?? 0);
    const t = Number(total ?? 0);
    return t > 0 ? ` ${Math.min(100, Math.floor((100 * d) / t))}% (${d}/${t} ${unit})` : undefined;
  };
  const amount = ratio(row.done, row.total, kind === 'vacuum' ? 'heap blocks' : 'blocks')
    ?? (kind === 'create-index' ? ratio(row.tuplesDone, row.tuplesTotal, 'tuples') : undefined) ?? '';
  // PostgreSQL's own build phases already read "building index: scanning table" and so on.
  const phase = row.phase.startsWith(`${what}: `) ? row.phase.slice(what.length + 2) : row.phase;
  return `${what}: ${phase}${amount}`;
}

/**
 * Polls, from a second read-only connection, the progress view for the backend `pid`
 * running a CREATE INDEX or VACUUM, about every second until stop(). On a terminal it
 * updates a spinner; otherwise it prints `prefix  text` to stderr at most every 5 s.
 * Starts in the background, so the statement is never delayed; any error here only
 * ends the reporting.
 */
export function watchProgress(settings: ConnectionSettings, pid: number, kind: WatchedKind, prefix: string): ProgressWatch {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let spinner: ReturnType<typeof progress> | undefined;
  let lastPlain = 0;

  const report = (text: string) => {
    const line = `${prefix}   ${text}`;
    if (process.stderr.isTTY) {
      spinner ??= progress(line);
      spinner.update(line);
    } else if (Date.now() - lastPlain >= PLAIN_EVERY_MS) {
      lastPlain = Date.now();
      process.stderr.write(`${line}\n`);
    }
  };

  const loop = (async () => {
    let session: Session | undefined;
    try {
      session = await openSession(settings, { readOnly: true, statementTimeoutMs: 5_000, lockTimeoutMs: 1_000 });
      while (!stopped) {
        const { rows } = await session.client.query<Row>(tagged(QUERIES[kind]), [pid]);
        if (rows[0] && !stopped) report(describe(kind, rows[0]));
        if (stopped) break;
        // Sleep one poll interval, cut short by stop().
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, POLL_MS);
        });
      }
    } catch {
      // Progress is a nicety: a failed poll (no permission, dropped connection) ends it quietly.
    } finally {
      await session?.close();
    }
  })();

  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await loop;
      spinner?.done();
    },
  };
}
