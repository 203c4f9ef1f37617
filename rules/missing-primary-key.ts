import { lookup, type Lookup } from '../src/collect/lookup.js';
import type { Index, Table } from '../src/collect/snapshot.js';
import { indexDefinition } from '../src/plan/index-ddl.js';
import { truncateBytes } from '../src/plan/index-name.js';
import { formatCount } from '../src/plan/numbers.js';
import { qualify, quoteIdent } from '../src/plan/quote.js';
import { defineRule, target, type Action, type FindingDraft } from '../src/rule.js';

export default defineRule({
  id: 'missing-primary-key',
  title: 'Table without a primary key',
  category: 'schema',
  severity: 'warning',
  requires: [],
  options: {},
  docs: `
## What is wrong
An ordinary or partitioned table with no primary key.

## Why it hurts
Logical replication cannot replicate UPDATE and DELETE on it ("cannot update table because it
does not have a replica identity"), and with \`REPLICA IDENTITY FULL\` every replicated change
is matched by a sequential scan on the subscriber (before PG16, 1,000 updates on a 1M-row
table read 1G rows there). pg_repack and many CDC tools and ORMs refuse such tables or
misbehave, duplicate rows creep in unnoticed, and single rows cannot be addressed reliably.

## How perfaudit detects it
Tables of kind ordinary or partitioned, not partitions (checked at their partitioned parent)
and not materialized views, with no index marked \`indisprimary\`.

## Fix
Where a unique index could serve, it is promoted: a valid, ready, non-partial btree unique
index of plain columns, all NOT NULL, in default order, opclass and collation, not NULLS NOT
DISTINCT (PostgreSQL's own conditions). The narrowest (fewest columns, then smallest) wins:
\`ALTER TABLE … ADD PRIMARY KEY USING INDEX …\` takes an ACCESS EXCLUSIVE lock for a moment
and reads nothing, since the index already proves uniqueness and the columns non-null.

Everything else is a \`manual\` step, because it either rewrites or scans the table under
ACCESS EXCLUSIVE or needs a decision: an index that backs a UNIQUE constraint cannot be
promoted (build a twin concurrently and promote that); a unique index with nullable columns
needs \`SET NOT NULL\` first, which scans the table under ACCESS EXCLUSIVE; with no unique
index, \`ADD COLUMN … GENERATED ALWAYS AS IDENTITY PRIMARY KEY\` rewrites the whole table
under ACCESS EXCLUSIVE (minutes per GB, no reads or writes meanwhile). A partitioned table
refuses USING INDEX and needs the partition key in its primary key: \`ADD PRIMARY KEY\` on
the parent builds a unique index on every partition under ACCESS EXCLUSIVE locks.

## Limits
Tables that inherit (legacy inheritance) are skipped along with partitions. The snapshot does
not hold partition keys, so for a partitioned table without a usable unique index the step
is advice, not a statement.
`,
  check(snapshot) {
    const catalog = lookup(snapshot);
    return snapshot.tables
      .filter((table) => table.kind !== 'matview' && table.partitionOf === null)
      .filter((table) => !catalog.indexesOf(table.oid).some((index) => index.primary))
      .map((table): FindingDraft => {
        const candidates = catalog.indexesOf(table.oid).filter(promotable).sort(narrowestFirst);
        const notNull = candidates.filter((index) => nullableKeys(index, table, catalog).length === 0);
        const plain = notNull.find((index) => index.constraint === null);
        const fix = table.kind === 'partitioned' ? partitionedFix(table, notNull[0], catalog)
          : plain ? promote(table, plain)
          : notNull[0] ? twinFix(table, notNull[0], catalog)
          : candidates[0] ? notNullFix(table, candidates[0], catalog)
          : identityFix(table);
        const rows = catalog.rowsOf(table);
        return {
          message: `${table.schema}.${table.name} (${table.kind === 'partitioned' ? 'partitioned, ' : ''}${formatCount(rows)} rows) has no primary key; ${fix.summary}.`,
          target: target('table', { schema: table.schema, table: table.name }),
          evidence: { tableRows: rows, candidateIndex: fix.index?.name ?? null },
          actions: fix.actions,
        };
      });
  },
});

interface Fix {
  readonly summary: string;
  readonly index: Index | undefined;
  readonly actions: readonly Action[];
}

function promote(table: Table, index: Index): Fix {
  return {
    summary: `its unique index ${index.name} on NOT NULL columns can become one`,
    index,
    actions: [{
      kind: 'alter-table',
      sql: `ALTER TABLE ${qualify(table.schema, table.name)} ADD PRIMARY KEY USING INDEX ${quoteIdent(index.name)};`,
      transactional: true,
      lock: 'ACCESS EXCLUSIVE',
    }],
  };
}

function twinFix(table: Table, index: Index, catalog: Lookup): Fix {
  const twin = freeName(table.name, '_pkey', catalog.relationNames(table.schema));
  const constraint = index.constraint?.name ?? index.name;
  return {
    summary: `the index of its UNIQUE constraint ${constraint} cannot be promoted, a twin of it can`,
    index,
    actions: [manual([
      '-- An index that backs a UNIQUE constraint cannot become the primary key: build a twin, promote it, then drop',
      '-- the constraint (that fails while foreign keys reference it; keep it then, or re-point them first).',
      indexDefinition(index, table, catalog, { concurrently: true, name: twin }),
      `ALTER TABLE ${qualify(table.schema, table.name)} ADD PRIMARY KEY USING INDEX ${quoteIdent(twin)};`,
      `ALTER TABLE ${qualify(table.schema, table.name)} DROP CONSTRAINT ${quoteIdent(constraint)};`,
    ])],
  };
}

function notNullFix(table: Table, index: Index, catalog: Lookup): Fix {
  const nullable = nullableKeys(index, table, catalog);
  const qualified = qualify(table.schema, table.name);
  return {
    summary: `unique index ${index.name} could become one once ${nullable.join(', ')} ${nullable.length > 1 ? 'are' : 'is'} NOT NULL`,
    index,
    actions: [manual([
      '-- The unique index can become the primary key once its nullable columns are NOT NULL. SET NOT NULL fails while',
      '-- a NULL remains, and reads the whole table under ACCESS EXCLUSIVE unless a validated CHECK (… IS NOT NULL) proves it.',
      ...nullable.map((column) => `ALTER TABLE ${qualified} ALTER COLUMN ${quoteIdent(column)} SET NOT NULL;`),
      `ALTER TABLE ${qualified} ADD PRIMARY KEY USING INDEX ${quoteIdent(index.name)};`,
    ])],
  };
}

function identityFix(table: Table): Fix {
  const taken = new Set(table.columns.map((c) => c.name));
  const column = taken.has('id') ? freeName('row_id', '', taken) : 'id';
  return {
    summary: 'no unique index could become one',
    index: undefined,
    actions: [manual([
      '-- No unique index can become the primary key. If some columns are unique and NOT NULL in practice, build a unique',
      '-- index on them concurrently and ADD PRIMARY KEY USING INDEX. Otherwise add a surrogate key; this REWRITES the',
      '-- whole table and holds ACCESS EXCLUSIVE (no reads or writes) until done:',
      `ALTER TABLE ${qualify(table.schema, table.name)} ADD COLUMN ${quoteIdent(column)} bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;`,
    ])],
  };
}

function partitionedFix(table: Table, index: Index | undefined, catalog: Lookup): Fix {
  const lines = [
    '-- A partitioned table refuses ADD PRIMARY KEY USING INDEX, and its primary key must include the partition key.',
    '-- ADD PRIMARY KEY on it builds a unique index on every partition while holding ACCESS EXCLUSIVE locks.',
  ];
  if (!index) {
    lines.push('-- No unique index on NOT NULL columns exists to copy the key from; choose one that includes the partition key.');
    return { summary: 'no unique index shows which key to use', index, actions: [manual(lines)] };
  }
  const columns = index.keys.map((key) => quoteIdent(catalog.columnName(table.oid, key.attnum)));
  lines.push(`ALTER TABLE ${qualify(table.schema, table.name)} ADD PRIMARY KEY (${columns.join(', ')});`);
  return { summary: `its unique index ${index.name} shows the key, but partitioned tables need a new index for it`, index, actions: [manual(lines)] };
}

function manual(lines: readonly string[]): Action {
  return { kind: 'manual', sql: lines.join('\n'), transactional: false, lock: 'ACCESS EXCLUSIVE' };
}

// PostgreSQL's conditions for ADD PRIMARY KEY USING INDEX, except NOT NULL, checked apart.
function promotable(index: Index): boolean {
  return index.unique && index.valid && index.ready && index.method === 'btree' && index.predicate === null && !index.nullsNotDistinct
    && index.keys.every((key) => key.expression === null && key.opclassIsDefault && key.collationIsDefault && !key.descending && !key.nullsFirst);
}

function nullableKeys(index: Index, table: Table, catalog: Lookup): string[] {
  return index.keys
    .filter((key) => !table.columns.find((column) => column.attnum === key.attnum)?.notNull)
    .map((key) => catalog.columnName(table.oid, key.attnum));
}

function narrowestFirst(a: Index, b: Index): number {
  return a.keys.length - b.keys.length || a.relpages - b.relpages || (a.name < b.name ? -1 : 1);
}

/** `{base}{ending}`, or with a counter after it, the first not taken; the base is cut to fit 63 bytes. */
function freeName(base: string, ending: string, taken: ReadonlySet<string>): string {
  for (let n = 0; ; n++) {
    const suffix = ending + (n === 0 ? '' : String(n));
    const candidate = truncateBytes(base, 63 - Buffer.byteLength(suffix)) + suffix;
    if (!taken.has(candidate)) return candidate;
  }
}
