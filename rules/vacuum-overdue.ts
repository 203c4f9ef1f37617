import { autovacuumThresholds, type AutovacuumThresholds } from '../src/collect/autovacuum-settings.js';
import type { Table, TableStats } from '../src/collect/snapshot.js';
import { formatCount } from '../src/plan/numbers.js';
import { qualify } from '../src/plan/quote.js';
import { defineRule, target, type Action, type FindingDraft } from '../src/rule.js';

export default defineRule({
  id: 'vacuum-overdue',
  title: 'Vacuum overdue',
  category: 'maintenance',
  severity: 'warning',
  requires: [],
  options: {
    /** Tables with at least this many rows also get a per-table autovacuum_vacuum_scale_factor. */
    largeTableRows: 1_000_000,
    /** The per-table scale factor proposed for large tables. */
    largeTableScaleFactor: 0.01,
    /** Dead tuples this many times the threshold, although autovacuum ran recently: it cannot keep up. */
    fallingBehindFactor: 4,
    /** "Recently" for the above: an autovacuum run at most this many hours before the snapshot. */
    recentAutovacuumHours: 24,
  },
  docs: `
## What is wrong
A table holding more dead tuples than its own autovacuum threshold: autovacuum should
have vacuumed it and has not (it is disabled, blocked, busy elsewhere, or too slow), or
a table whose autovacuum runs do happen but cannot keep up with its churn.

## Why it hurts
Dead tuples take space that new rows cannot reuse until VACUUM marks it free: the table
and its indexes grow (bloat), sequential scans read dead rows, index-only scans fall back
to the heap because the visibility map is out of date, and the eventual autovacuum has
far more to do. At the default scale factor of 0.2 a 100M-row table waits for 20M dead
rows before autovacuum even starts.

## How perfaudit detects it
For each ordinary table and materialized view (partitioned parents hold no rows; their
partitions are judged one by one), the threshold autovacuum itself uses:
\`autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor × reltuples\`, capped by
\`autovacuum_vacuum_max_threshold\` (PG18+), where each setting comes from the table's
reloptions when set there and from the server otherwise; reltuples before the first
VACUUM or ANALYZE counts as 0, as in PostgreSQL. A table whose \`n_dead_tup\` exceeds it is
reported, with its last manual and automatic vacuum times in evidence.

A table is said to have autovacuum *falling behind* when its dead tuples are at least
\`fallingBehindFactor\` (default 4) times the threshold although autovacuum did vacuum it
(\`autovacuum_count > 0\`) within the last \`recentAutovacuumHours\` (default 24) before
the snapshot: autovacuum runs, but the table dirties faster than it is cleaned.

## Fix
\`VACUUM (ANALYZE, VERBOSE)\` the table now: it takes SHARE UPDATE EXCLUSIVE, which lets
reads and writes go on, and it cannot run inside a transaction block. For tables of
\`largeTableRows\` (default 1M) rows or more, also lower the table's own
\`autovacuum_vacuum_scale_factor\` (default proposal 0.01), so autovacuum starts after 1%
of the rows are dead instead of 20%. For a table falling behind, also look at the
autovacuum cost settings (\`autovacuum_vacuum_cost_limit\`, \`autovacuum_vacuum_cost_delay\`)
and at long transactions holding the xmin horizon back (see xid-wraparound).

## Limits
\`n_dead_tup\` is an estimate kept by the cumulative statistics system: it is lost after a
crash or a statistics reset, and ANALYZE replaces it with a sampled figure. A VACUUM that
cannot remove dead tuples because an old snapshot still sees them leaves the count high:
the finding then persists after the fix, and the horizon holder is the real problem.
Insert-driven vacuums (\`autovacuum_vacuum_insert_threshold\`) are not judged here.
`,
  check(snapshot, options) {
    const collectedAt = Date.parse(snapshot.collectedAt);
    return snapshot.tables
      .filter((table): table is Table & { stats: TableStats } => table.kind !== 'partitioned' && table.stats !== null)
      .flatMap((table): FindingDraft[] => {
        const { stats } = table;
        const limits = autovacuumThresholds(table, snapshot.server);
        if (stats.deadTuples <= limits.vacuum) return [];
        const ratio = stats.deadTuples / Math.max(limits.vacuum, 1);
        const lastAuto = stats.lastAutovacuum === null ? Number.NaN : Date.parse(stats.lastAutovacuum);
        const recentAuto = stats.autovacuumCount > 0 && collectedAt - lastAuto <= options.recentAutovacuumHours * 3_600_000;
        const fallingBehind = recentAuto && ratio >= options.fallingBehindFactor;
        const large = table.reltuples >= options.largeTableRows && limits.vacuumScaleFactor > options.largeTableScaleFactor;
        const name = qualify(table.schema, table.name);
        const total = stats.deadTuples + Math.max(stats.liveTuples, 0);
        const deadShare = total > 0 ? stats.deadTuples / total : 0;
        const actions: Action[] = [
          { kind: 'vacuum', sql: `VACUUM (ANALYZE, VERBOSE) ${name};`, transactional: false, lock: 'SHARE UPDATE EXCLUSIVE' },
        ];
        if (large) {
          actions.push({
            kind: 'alter-table',
            sql: `ALTER TABLE ${name} SET (autovacuum_vacuum_scale_factor = ${options.largeTableScaleFactor});`,
            transactional: true,
            lock: 'SHARE UPDATE EXCLUSIVE',
            undo: `ALTER TABLE ${name} RESET (autovacuum_vacuum_scale_factor);`,
          });
        }
        return [{
          message: `${table.schema}.${table.name} has ${formatCount(stats.deadTuples)} dead tuples (${percent(deadShare)} of its rows), `
            + `${ratio.toFixed(1)}× its autovacuum threshold of ${formatCount(limits.vacuum)} `
            + `(${formatCount(limits.vacuumBase)} + ${limits.vacuumScaleFactor} × ${formatCount(limits.reltuples)} rows); `
            + `${why(stats, limits, fallingBehind)}`
            + (large
              ? ` At scale factor ${limits.vacuumScaleFactor} this ${formatCount(table.reltuples)}-row table waits for `
                + `${formatCount(limits.vacuumBase + limits.vacuumScaleFactor * table.reltuples)} dead rows before autovacuum starts; `
                + `${options.largeTableScaleFactor} starts it at ${formatCount(limits.vacuumBase + options.largeTableScaleFactor * table.reltuples)}.`
              : ''),
          target: target('table', { schema: table.schema, table: table.name }),
          evidence: {
            deadTuples: stats.deadTuples,
            liveTuples: stats.liveTuples,
            reltuples: table.reltuples,
            deadShare: Math.round(deadShare * 1000) / 1000,
            vacuumThreshold: Math.round(limits.vacuum),
            thresholdBase: limits.vacuumBase,
            thresholdScaleFactor: limits.vacuumScaleFactor,
            timesThreshold: Math.round(ratio * 10) / 10,
            autovacuumEnabled: limits.enabled,
            fallingBehind,
            lastVacuum: stats.lastVacuum,
            lastAutovacuum: stats.lastAutovacuum,
            vacuumCount: stats.vacuumCount,
            autovacuumCount: stats.autovacuumCount,
          },
          actions,
        }];
      });
  },
});

function why(stats: TableStats, limits: AutovacuumThresholds, fallingBehind: boolean): string {
  const last = `last vacuum ${stats.lastVacuum ?? 'never'}, last autovacuum ${stats.lastAutovacuum ?? 'never'}`;
  if (!limits.enabled) return `autovacuum is disabled for it (${last}).`;
  if (fallingBehind) return `autovacuum ran ${stats.autovacuumCount} times (${last}) but cannot keep up with its churn.`;
  return `autovacuum has not caught up yet (${last}).`;
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}
