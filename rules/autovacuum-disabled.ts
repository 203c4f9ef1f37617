import { autovacuumEnabledIn, serverAutovacuumOn } from '../src/collect/autovacuum-settings.js';
import type { Table } from '../src/collect/snapshot.js';
import { formatCount } from '../src/plan/numbers.js';
import { qualify } from '../src/plan/quote.js';
import { defineRule, target, type FindingDraft } from '../src/rule.js';

export default defineRule({
  id: 'autovacuum-disabled',
  title: 'Autovacuum disabled',
  category: 'maintenance',
  severity: 'warning',
  requires: [],
  options: {},
  docs: `
## What is wrong
Autovacuum is switched off: for a table (\`autovacuum_enabled = false\`), for its TOAST
table (\`toast.autovacuum_enabled = false\`), or for the whole server (\`autovacuum = off\`).

## Why it hurts
Nothing then removes the dead tuples that UPDATE and DELETE leave behind, nothing
refreshes planner statistics, and the visibility map is never set: the table bloats,
plans go stale, index-only scans degrade. The freeze vacuum that prevents transaction-ID
wraparound still runs when forced, but at the worst time, as an emergency. Tables are
usually switched off for a bulk load and never switched back on; a server-wide \`off\`
is almost always a mistake, and is critical.

## How perfaudit detects it
The table's reloptions and its TOAST table's reloptions are read for
\`autovacuum_enabled\` with PostgreSQL's boolean spellings (false, off, no, 0). Ordinary
tables, partitions and materialized views are judged; a partitioned parent has no
storage of its own. The server's \`autovacuum\` setting from \`pg_settings\` gives one
database-wide critical finding.

## Fix
\`ALTER TABLE … RESET (autovacuum_enabled)\` (and/or \`toast.autovacuum_enabled\`), so the
table follows the server's settings again: quick, transactional, SHARE UPDATE EXCLUSIVE.
If the table was switched off for a reason (a bulk load still running), finish that
first. Server-wide: \`ALTER SYSTEM SET autovacuum = on\` and \`SELECT pg_reload_conf()\`,
by a superuser, outside a transaction block; a value given on the server's command line
overrides ALTER SYSTEM and must be changed there.

## Limits
Autovacuum also does nothing when \`track_counts\` is off; that setting is not judged
here. The rule does not say how much damage was done while autovacuum was off: see
vacuum-overdue, stale-statistics, table-bloat and xid-wraparound for that.
`,
  check(snapshot) {
    const findings: FindingDraft[] = [];
    if (!serverAutovacuumOn(snapshot.server)) {
      findings.push({
        severity: 'critical',
        message: `autovacuum is off for the whole server hosting database ${snapshot.server.database}: no table is vacuumed or analyzed `
          + 'automatically; only forced anti-wraparound vacuums still run.',
        target: target('database', {}),
        evidence: { autovacuum: snapshot.server.settings.autovacuum ?? null, trackCounts: snapshot.server.settings.track_counts ?? null },
        actions: [{
          kind: 'manual',
          sql: [
            '-- As a superuser, outside a transaction block (a value set on the server command line overrides this):',
            'ALTER SYSTEM SET autovacuum = on;',
            'SELECT pg_reload_conf();',
          ].join('\n'),
          transactional: false,
          lock: null,
        }],
      });
    }
    for (const table of snapshot.tables) {
      if (table.kind === 'partitioned') continue;
      const disabled = [
        ...(autovacuumEnabledIn(table.reloptions) ? [] : ['autovacuum_enabled']),
        ...(table.toast === null || autovacuumEnabledIn(table.toast.reloptions) ? [] : ['toast.autovacuum_enabled']),
      ];
      if (disabled.length === 0) continue;
      findings.push(tableFinding(table, disabled));
    }
    return findings;
  },
});

function tableFinding(table: Table, disabled: readonly string[]): FindingDraft {
  const alter = `${table.kind === 'matview' ? 'ALTER MATERIALIZED VIEW' : 'ALTER TABLE'} ${qualify(table.schema, table.name)}`;
  const heapOff = disabled.includes('autovacuum_enabled');
  const toastOff = disabled.includes('toast.autovacuum_enabled');
  const what = heapOff && toastOff ? 'the table and its TOAST table' : heapOff ? 'the table' : 'its TOAST table';
  const dead = table.stats?.deadTuples ?? 0;
  return {
    message: `Autovacuum is disabled for ${table.schema}.${table.name} (${what}: ${disabled.map((o) => `${o}=false`).join(', ')}); `
      + `it has ${formatCount(dead)} dead tuples, last vacuum ${table.stats?.lastVacuum ?? 'never'}, last analyze ${table.stats?.lastAnalyze ?? 'never'}.`,
    target: target('table', { schema: table.schema, table: table.name }),
    evidence: {
      autovacuumEnabled: !heapOff,
      toastAutovacuumEnabled: !toastOff,
      deadTuples: dead,
      lastVacuum: table.stats?.lastVacuum ?? null,
      lastAutovacuum: table.stats?.lastAutovacuum ?? null,
      lastAnalyze: table.stats?.lastAnalyze ?? null,
    },
    actions: [{
      kind: 'alter-table',
      sql: `${alter} RESET (${disabled.join(', ')});`,
      transactional: true,
      lock: 'SHARE UPDATE EXCLUSIVE',
      undo: `${alter} SET (${disabled.map((o) => `${o} = false`).join(', ')});`,
    }],
  };
}
