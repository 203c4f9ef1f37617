import pg from 'pg';

/** One lock wait seen in pg_locks, with the session it waited for (null: none found). */
export interface ObservedWait {
  readonly waiter: string;
  readonly waiterPid: number;
  /** `relation app.t AccessShareLock`, `virtualxid 3/42 ShareLock`, … */
  readonly lock: string;
  readonly blocker: string | null;
  readonly blockerPid: number | null;
  /** The longest this wait was seen lasting (pg_locks.waitstart to the poll). */
  readonly maxMs: number;
}

export interface LockObservations {
  readonly polls: number;
  readonly waits: readonly ObservedWait[];
}

interface Row {
  waiter: string;
  waiter_pid: number;
  lock: string;
  waited_ms: number;
  blocker: string | null;
  blocker_pid: number | null;
}

// Every ungranted lock in the database, with whoever pg_blocking_pids() says it waits for.
const WAITS_SQL = `
  SELECT w.application_name AS waiter, w.pid AS waiter_pid,
         concat_ws(' ', l.locktype, coalesce(l.relation::regclass::text, l.virtualxid, l.transactionid::text), l.mode) AS lock,
         extract(epoch FROM clock_timestamp() - l.waitstart)::float8 * 1000 AS waited_ms,
         b.application_name AS blocker, b.pid AS blocker_pid
  FROM pg_locks l
  JOIN pg_stat_activity w ON w.pid = l.pid
  LEFT JOIN LATERAL unnest(pg_blocking_pids(l.pid)) AS bp(pid) ON true
  LEFT JOIN pg_stat_activity b ON b.pid = bp.pid
  WHERE NOT l.granted AND w.datname = current_database()`;

/**
 * Samples pg_locks and pg_blocking_pids() of the database at `url` back to back (a few ms
 * apart) until stop(), keeping each distinct wait with the longest time it was seen lasting.
 */
export async function monitorLocks(url: string): Promise<{ stop(): Promise<LockObservations> }> {
  const client = new pg.Client({ connectionString: url, application_name: 'lock-monitor' });
  await client.connect();
  const waits = new Map<string, ObservedWait>();
  let polls = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const row of (await client.query<Row>(WAITS_SQL)).rows) {
        const key = `${row.waiter_pid} ${row.lock} ${row.blocker_pid}`;
        const maxMs = Math.max(row.waited_ms, waits.get(key)?.maxMs ?? 0);
        waits.set(key, { waiter: row.waiter, waiterPid: row.waiter_pid, lock: row.lock, blocker: row.blocker, blockerPid: row.blocker_pid, maxMs });
      }
      polls++;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await client.end();
      return { polls, waits: [...waits.values()] };
    },
  };
}

/** The waits of perfaudit's own sessions (application_name perfaudit). */
export const waitsOfPerfaudit = (observed: LockObservations) => observed.waits.filter((wait) => wait.waiter === 'perfaudit');

/** The waits other sessions spent waiting for one of perfaudit's. */
export const waitsOnPerfaudit = (observed: LockObservations) => observed.waits.filter((wait) => wait.blocker === 'perfaudit');
