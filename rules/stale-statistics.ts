import { autovacuumThresholds } from '../src/collect/autovacuum-settings.js';
import { lookup } from '../src/collect/lookup.js';
import type { Table, TableStats } from '../src/collect/snapshot.js';
import { formatCount } from '../src/plan/numbers.js';
import { qualify } from '../src/plan/quote.js';
import { defineRule, target, type Action, type FindingDraft } from '../src/rule.js';

export default defineRule({
  id: 'stale-statistics',
  title: 'Planner statistics missing or stale',
  category: 'maintenance',
  severity: 'warning',
  requires: [],
  options: {
    /** A partitioned parent analyzed longer ago than this (or never) is reported, as info. */
    partitionedMaxAgeDays: 7,
  },
  docs: `
## What is wrong
A table the planner knows nothing or too little about: never analyzed although it holds
rows, or modified since its last ANALYZE by more rows than its own autoanalyze threshold.
Also partitioned parents without a recent ANALYZE: autovacuum never analyzes them.

## Why it hurts
The planner sizes every scan and join from \`pg_statistic\` and \`reltuples\`. Without them
it guesses (a never-analyzed table is assumed small, its columns evenly spread), and with
stale ones it plans for the data as it was: nested loops over what is now millions of
rows, the wrong index, hash tables that spill. For a partitioned table, queries on the
parent use the parent's own statistics, which only a manual ANALYZE of the parent builds.

## How perfaudit detects it
Ordinary tables and materialized views: never analyzed (\`last_analyze\` and
\`last_autoanalyze\` both null) while the table has rows (reltuples, or live tuples before
the first ANALYZE); or \`n_mod_since_analyze\` above
\`autovacuum_analyze_threshold + autovacuum_analyze_scale_factor × reltuples\`, each
setting taken from the table's reloptions when set there, else from the server. These
findings are warnings. Partitioned parents with rows whose \`last_analyze\` is null or
older than \`partitionedMaxAgeDays\` (default 7) before the snapshot are info: they may be
fine for queries that always prune to one partition, which perfaudit cannot tell.

## Fix
\`ANALYZE\` the table: SHARE UPDATE EXCLUSIVE, reads and writes go on, it samples at most
300 × default_statistics_target rows so it is quick even on big tables. For a
partitioned parent, ANALYZE it on a schedule (cron, pg_cron): it also analyzes each
partition, so schedule it when that cost is acceptable. If a table goes stale repeatedly,
lower its \`autovacuum_analyze_scale_factor\`, or find out why autovacuum is off for it.

## Limits
The counters come from the cumulative statistics system and are lost after a crash or a
statistics reset: a table then looks never modified. Statistics can be wrong with fresh
timestamps (a too-small statistics target, correlated columns needing extended
statistics); that is not judged here. On servers whose statistics views do not cover
partitioned tables, partitioned parents are not judged.
`,
  check(snapshot, options) {
    const catalog = lookup(snapshot);
    const collectedAt = Date.parse(snapshot.collectedAt);
    return snapshot.tables
      .filter((table): table is Table & { stats: TableStats } => table.stats !== null)
      .flatMap((table): FindingDraft[] => {
        const { stats } = table;
        const rows = catalog.rowsOf(table);
        const name = `${table.schema}.${table.name}`;
        const lastAnalyzed = latest(stats.lastAnalyze, stats.lastAutoanalyze);
        const evidence = {
          rows,
          modifiedSinceAnalyze: stats.modifiedSinceAnalyze,
          lastAnalyze: stats.lastAnalyze,
          lastAutoanalyze: stats.lastAutoanalyze,
        };
        if (table.kind === 'partitioned') {
          const ageDays = lastAnalyzed === null ? null : (collectedAt - Date.parse(lastAnalyzed)) / 86_400_000;
          if (rows <= 0 || (ageDays !== null && ageDays <= options.partitionedMaxAgeDays)) return [];
          return [{
            severity: 'info',
            message: `Partitioned table ${name} (${formatCount(rows)} rows in its partitions) was `
              + (lastAnalyzed === null ? 'never analyzed' : `last analyzed ${lastAnalyzed}`)
              + ': autovacuum analyzes partitions but never a partitioned parent, so queries on the parent plan without up-to-date statistics.',
            target: target('table', { schema: table.schema, table: table.name }),
            evidence: { ...evidence, partitioned: true },
            actions: [analyzeAction(table)],
          }];
        }
        if (rows <= 0 && lastAnalyzed === null) return [];
        const limits = autovacuumThresholds(table, snapshot.server);
        if (lastAnalyzed === null) {
          return [{
            message: `${name} holds ${formatCount(rows)} rows and was never analyzed: the planner has no statistics for it.`,
            target: target('table', { schema: table.schema, table: table.name }),
            evidence: { ...evidence, analyzeThreshold: Math.round(limits.analyze), autovacuumEnabled: limits.enabled },
            actions: [analyzeAction(table)],
          }];
        }
        if (stats.modifiedSinceAnalyze <= limits.analyze) return [];
        return [{
          message: `${name} had ${formatCount(stats.modifiedSinceAnalyze)} rows modified since it was last analyzed (${lastAnalyzed}), `
            + `beyond its autoanalyze threshold of ${formatCount(limits.analyze)} `
            + `(${formatCount(limits.analyzeBase)} + ${limits.analyzeScaleFactor} × ${formatCount(limits.reltuples)} rows)`
            + (limits.enabled ? '.' : '; autovacuum is disabled for it.'),
          target: target('table', { schema: table.schema, table: table.name }),
          evidence: { ...evidence, analyzeThreshold: Math.round(limits.analyze), autovacuumEnabled: limits.enabled },
          actions: [analyzeAction(table)],
        }];
      });
  },
});

function analyzeAction(table: Table): Action {
  return { kind: 'analyze', sql: `ANALYZE ${qualify(table.schema, table.name)};`, transactional: true, lock: 'SHARE UPDATE EXCLUSIVE' };
}

function latest(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}
