import { lookup, type Lookup } from '../src/collect/lookup.js';
import type { Sequence } from '../src/collect/snapshot.js';
import { unreadableSequencesNote } from '../src/collect/visibility.js';
import { qualify, quoteIdent } from '../src/plan/quote.js';
import { defineRule, target, type Action, type FindingDraft, type Severity } from '../src/rule.js';

export default defineRule({
  id: 'sequence-exhaustion',
  title: 'Sequence close to its limit',
  category: 'schema',
  severity: 'warning',
  requires: [],
  options: {
    /** Share of the range used from which a sequence is reported. */
    warningShare: 0.75,
    /** Share used from which it is critical. */
    criticalShare: 0.9,
  },
  docs: `
## What is wrong
A sequence that has used most of the values it can still hand out: of its own range
(a \`smallint\` or \`integer\` sequence, or an explicit MAXVALUE), or of the type of a
column it fills (an \`integer\` column fed by a \`bigint\` sequence overflows at 2,147,483,647).

## Why it hurts
When it runs out, every INSERT fails: \`nextval: reached maximum value of sequence\`, or
\`integer out of range\` for the column. The table is read-only for the application
until someone changes its type, and the fix for a column (a rewrite under ACCESS
EXCLUSIVE) takes hours on a big table: it must be planned weeks ahead, not during the outage.

## How perfaudit detects it
For each sequence with a last value: the share used between its start side (MINVALUE,
or MAXVALUE for a descending sequence) and the tightest limit: its own bound, and the
bound of the type of each integer column it feeds (serial and identity columns, and
defaults that call nextval()). Ascending and descending sequences alike. A cycling
sequence wraps at its own bound by design, so only a narrower column counts for it.

## Fix
Own bound, columns already wide enough: \`ALTER SEQUENCE … AS bigint\`, quick, no rewrite.
Column bound: \`ALTER TABLE … ALTER COLUMN … TYPE bigint\` (which also widens an identity
column's sequence), then \`ALTER SEQUENCE … AS bigint\` for a serial: a manual step, since
it rewrites the table and its indexes under an ACCESS EXCLUSIVE lock (no reads or writes
for the duration); on big tables use a new column filled in batches, or logical
replication, instead. An explicit MAXVALUE/MINVALUE is a manual step too: it may be intended.

## Limits
Values come from \`pg_sequence_last_value\`, readable only with USAGE or SELECT on the
sequence: others are skipped. A sequence feeding a column of another type (numeric, text)
is judged on its own range only. Gaps from caching and rollbacks are counted as used.
`,
  coverageGap: unreadableSequencesNote,
  check(snapshot, options) {
    const catalog = lookup(snapshot);
    return snapshot.sequences.flatMap((sequence): FindingDraft[] => {
      if (sequence.lastValue === null) return [];
      const bound = tightestBound(sequence, catalog);
      if (!bound) return [];
      const share = shareUsed(sequence, bound.limit);
      if (share < options.warningShare) return [];
      const severity: Severity = share >= options.criticalShare ? 'critical' : 'warning';
      const fed = bound.column ?? firstFedColumn(sequence, catalog);
      const remaining = (BigInt(bound.limit) - BigInt(sequence.lastValue)) / BigInt(sequence.increment);
      return [{
        severity,
        message: `${sequence.schema}.${sequence.name} has used ${(share * 100).toFixed(1)}% of ${bound.column ? `the ${bound.column.type} range of ${bound.column.table}.${bound.column.name}` : `its ${sequence.type} range`}: `
          + `${remaining.toString()} values left before every INSERT fails.`,
        target: target('sequence', { schema: sequence.schema, name: sequence.name, table: fed?.table ?? null, columns: fed ? [fed.name] : [] }),
        evidence: {
          lastValue: sequence.lastValue,
          limit: bound.limit,
          remaining: remaining.toString(),
          shareUsed: Math.round(share * 10000) / 10000,
          boundBy: bound.column ? `column ${bound.column.schema}.${bound.column.table}.${bound.column.name} (${bound.column.type})` : `sequence (${sequence.type})`,
          cycle: sequence.cycle,
        },
        actions: fixes(sequence, bound, catalog),
      }];
    });
  },
});

const TYPE_BOUNDS: Readonly<Record<string, readonly [string, string]>> = {
  smallint: ['-32768', '32767'],
  integer: ['-2147483648', '2147483647'],
  bigint: ['-9223372036854775808', '9223372036854775807'],
};

interface FedColumn {
  readonly schema: string;
  readonly table: string;
  readonly name: string;
  readonly type: string;
}

interface Bound {
  readonly limit: string;
  /** The column whose type sets the limit; null when the sequence's own bound does. */
  readonly column: FedColumn | null;
}

function ascending(sequence: Sequence): boolean {
  return BigInt(sequence.increment) > 0n;
}

function fedColumns(sequence: Sequence, catalog: Lookup): FedColumn[] {
  return sequence.feeds.flatMap(({ tableOid, attnum }) => {
    const table = catalog.table(tableOid);
    const column = table?.columns.find((candidate) => candidate.attnum === attnum);
    return table && column ? [{ schema: table.schema, table: table.name, name: column.name, type: column.type }] : [];
  });
}

function firstFedColumn(sequence: Sequence, catalog: Lookup): FedColumn | undefined {
  return fedColumns(sequence, catalog)[0];
}

/** The limit the sequence reaches first: its own bound (unless it cycles) or a narrower column's. */
function tightestBound(sequence: Sequence, catalog: Lookup): Bound | null {
  const up = ascending(sequence);
  const candidates: Bound[] = sequence.cycle ? [] : [{ limit: up ? sequence.max : sequence.min, column: null }];
  for (const column of fedColumns(sequence, catalog)) {
    const bounds = TYPE_BOUNDS[column.type];
    if (!bounds) continue;
    const limit = up ? bounds[1] : bounds[0];
    const ownLimit = BigInt(up ? sequence.max : sequence.min);
    if (up ? BigInt(limit) < ownLimit : BigInt(limit) > ownLimit) candidates.push({ limit, column });
  }
  const distance = (bound: Bound) => (BigInt(bound.limit) - BigInt(sequence.lastValue ?? 0)) * (up ? 1n : -1n);
  return candidates.sort((a, b) => (distance(a) < distance(b) ? -1 : distance(a) > distance(b) ? 1 : 0))[0] ?? null;
}

function shareUsed(sequence: Sequence, limit: string): number {
  const origin = BigInt(ascending(sequence) ? sequence.min : sequence.max);
  const range = BigInt(limit) - origin;
  return range === 0n ? 1 : Number(BigInt(sequence.lastValue ?? origin) - origin) / Number(range);
}

function fixes(sequence: Sequence, bound: Bound, catalog: Lookup): Action[] {
  const name = qualify(sequence.schema, sequence.name);
  const widenSequence = sequence.type === 'bigint' ? [] : [`ALTER SEQUENCE ${name} AS bigint;`];
  const narrow = fedColumns(sequence, catalog).filter((column) => column.type === 'smallint' || column.type === 'integer');
  const ownTypeBound = TYPE_BOUNDS[sequence.type]?.includes(bound.limit) ?? false;
  if (bound.column === null && narrow.length === 0 && ownTypeBound && widenSequence.length) {
    return [{ kind: 'alter-table', sql: widenSequence[0] ?? '', transactional: true, lock: 'SHARE ROW EXCLUSIVE' }];
  }
  const explicitBound = bound.column === null && !ownTypeBound
    ? [`-- ${sequence.name} has an explicit ${ascending(sequence) ? 'MAXVALUE' : 'MINVALUE'}; if it is not intended:`,
      `ALTER SEQUENCE ${name} ${ascending(sequence) ? 'NO MAXVALUE' : 'NO MINVALUE'};`]
    : [];
  const columnChanges = narrow.map((column) =>
    `ALTER TABLE ${qualify(column.schema, column.table)} ALTER COLUMN ${quoteIdent(column.name)} TYPE bigint;`);
  const lines = [
    ...(columnChanges.length
      ? ['-- Rewrites the table and its indexes under ACCESS EXCLUSIVE (no reads or writes until done).',
        '-- On a big table, add a bigint column filled in batches, or use logical replication, instead.', ...columnChanges]
      : []),
    ...widenSequence,
    ...explicitBound,
  ];
  if (lines.length === 0) lines.push(`-- ${sequence.name} is already bigint and near its bound: plan a new key strategy (e.g. uuid) or a reset.`);
  return [{ kind: 'manual', sql: lines.join('\n'), transactional: true, lock: 'ACCESS EXCLUSIVE' }];
}
