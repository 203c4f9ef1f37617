import { describe, expect, it } from 'vitest';
import rule from '../../rules/non-concurrent-index-build.js';
import { target } from '../../src/rule.js';
import { check, fixOf, migration, table } from '../helpers/migration.js';
import { expectMarkedFindings } from '../helpers/migration-fixture.js';

const orders = table('app', 'orders', { notNull: ['id'] });
const events = table('app', 'events', { partitioned: true });

describe('non-concurrent-index-build', () => {
  it('reports CREATE INDEX on an existing table with the same statement made concurrent', async () => {
    const checked = await migration('-- why\nCREATE INDEX orders_status_idx ON app.orders USING btree (status, lower(email)) INCLUDE (id) WHERE status IS NOT NULL;', { target: orders });
    expect(check(rule, checked)).toEqual([{
      line: 2,
      severity: 'warning',
      target: target('index', { schema: 'app', table: 'orders', name: 'orders_status_idx', columns: ['status'] }),
      sql: ['CREATE INDEX CONCURRENTLY orders_status_idx ON app.orders USING btree (status, lower(email)) INCLUDE (id) WHERE status IS NOT NULL;'],
    }]);
  });

  it('keeps UNIQUE, IF NOT EXISTS, comments and hostile names as written', async () => {
    expect(await fixOf(rule, 'CREATE UNIQUE INDEX IF NOT EXISTS "Idx ""x""" ON "My App"."Order Items" /* keys */ ("SKU")', { target: table('My App', 'Order Items') }))
      .toEqual(['CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "Idx ""x""" ON "My App"."Order Items" /* keys */ ("SKU");']);
  });

  it('on a partitioned table, builds on the parent alone and per partition, naming an unnamed index', async () => {
    expect(await fixOf(rule, 'CREATE INDEX ON app.events (kind, lower(name)) WHERE kind <> \'x\'', { target: events })).toEqual([[
      '-- CONCURRENTLY is refused on a partitioned table: create the index on the parent alone (instant; invalid until complete),',
      'CREATE INDEX events_kind_expr_idx ON ONLY app.events (kind, lower(name)) WHERE kind <> \'x\';',
      '-- then, for each partition, outside a transaction:',
      '--   CREATE INDEX CONCURRENTLY <partition index> ON <partition> (kind, lower(name)) WHERE kind <> \'x\';',
      '--   ALTER INDEX app.events_kind_expr_idx ATTACH PARTITION <partition index>;',
    ].join('\n')]);
  });

  it('reports ADD UNIQUE with the index built concurrently first, carrying its options', async () => {
    const sql = 'ALTER TABLE app.orders ADD COLUMN note text, ADD CONSTRAINT orders_code_key UNIQUE NULLS NOT DISTINCT (code) INCLUDE (id) '
      + 'WITH (fillfactor = 70) USING INDEX TABLESPACE pg_default DEFERRABLE INITIALLY DEFERRED';
    const [finding] = check(rule, await migration(sql, { target: orders }));
    expect(finding?.target).toEqual(target('constraint', { schema: 'app', table: 'orders', name: 'orders_code_key', columns: ['code'] }));
    expect(finding?.sql).toEqual([[
      'ALTER TABLE app.orders ADD COLUMN note text;',
      'CREATE UNIQUE INDEX CONCURRENTLY orders_code_key ON app.orders (code) INCLUDE (id) NULLS NOT DISTINCT WITH (fillfactor = 70) TABLESPACE pg_default;',
      'ALTER TABLE app.orders ADD CONSTRAINT orders_code_key UNIQUE USING INDEX orders_code_key DEFERRABLE INITIALLY DEFERRED;',
    ].join('\n')]);
  });

  it('names an unnamed primary key as PostgreSQL would, and says when its columns are not known NOT NULL', async () => {
    expect(await fixOf(rule, 'ALTER TABLE app.orders ADD PRIMARY KEY (id)', { target: orders })).toEqual([[
      'CREATE UNIQUE INDEX CONCURRENTLY orders_pkey ON app.orders (id);',
      'ALTER TABLE app.orders ADD CONSTRAINT orders_pkey PRIMARY KEY USING INDEX orders_pkey;',
    ].join('\n')]);
    expect(await fixOf(rule, 'ALTER TABLE "My App"."Line Items" ADD PRIMARY KEY ("Order Id")', { target: table('My App', 'Line Items', { notNull: [] }) })).toEqual([[
      'CREATE UNIQUE INDEX CONCURRENTLY "Line Items_pkey" ON "My App"."Line Items" ("Order Id");',
      '-- Order Id must be NOT NULL first, or the next step scans the table under ACCESS EXCLUSIVE (perfaudit rules set-not-null-scan).',
      'ALTER TABLE "My App"."Line Items" ADD CONSTRAINT "Line Items_pkey" PRIMARY KEY USING INDEX "Line Items_pkey";',
    ].join('\n')]);
  });

  it('reports ADD COLUMN … UNIQUE with the column added bare first', async () => {
    expect(await fixOf(rule, 'ALTER TABLE app.orders ADD COLUMN ref text UNIQUE DEFERRABLE NOT NULL', { target: orders })).toEqual([[
      'ALTER TABLE app.orders ADD COLUMN ref text NOT NULL;',
      'CREATE UNIQUE INDEX CONCURRENTLY orders_ref_key ON app.orders (ref);',
      'ALTER TABLE app.orders ADD CONSTRAINT orders_ref_key UNIQUE USING INDEX orders_ref_key DEFERRABLE;',
    ].join('\n')]);
  });

  it('on a partitioned table, has the partitions\' constraints adopted instead', async () => {
    expect(await fixOf(rule, 'ALTER TABLE app.events ADD CONSTRAINT events_id_key UNIQUE (id, at)', { target: events })).toEqual([[
      '-- USING INDEX is refused on a partitioned table, but ADD CONSTRAINT on app.events adopts a matching constraint of each',
      '-- partition instead of building one. First, for each partition, outside a transaction:',
      '--   CREATE UNIQUE INDEX CONCURRENTLY <partition index> ON <partition> (id, at);',
      '--   ALTER TABLE <partition> ADD CONSTRAINT <partition index> UNIQUE USING INDEX <partition index>;',
      '-- then this statement builds nothing (ACCESS EXCLUSIVE only for a moment):',
      'ALTER TABLE app.events ADD CONSTRAINT events_id_key UNIQUE (id, at);',
    ].join('\n')]);
  });

  it('reports an exclusion constraint, which has no online form', async () => {
    const [finding] = check(rule, await migration('ALTER TABLE app.bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&)', { target: table('app', 'bookings') }));
    expect(finding?.target).toEqual(target('constraint', { schema: 'app', table: 'bookings', name: 'no_overlap' }));
    expect(finding?.sql).toEqual([[
      '-- An exclusion constraint cannot be added over an index built beforehand (USING INDEX takes PRIMARY KEY and UNIQUE only):',
      '-- run this when app.bookings is quiet, in a migration of its own with a lock_timeout, and expect no reads or writes for the build.',
    ].join('\n')]);
  });

  it('does not report the look-alikes', async () => {
    const fresh = table('app', 'refunds', { newInFile: true });
    const checked = await migration([
      'CREATE INDEX CONCURRENTLY orders_email_idx ON app.orders (email);',
      'CREATE INDEX refunds_order_idx ON app.refunds (order_id);',
      'ALTER TABLE app.refunds ADD CONSTRAINT refunds_key UNIQUE (order_id), ADD COLUMN code text UNIQUE;',
      'CREATE INDEX events_at_idx ON ONLY app.events (at);',
      'ALTER TABLE app.orders ADD CONSTRAINT orders_email_key UNIQUE USING INDEX orders_email_idx;',
      'ALTER TABLE app.orders ADD CONSTRAINT orders_pkey PRIMARY KEY USING INDEX orders_id_idx;',
      'ALTER TABLE app.orders ADD COLUMN note text CHECK (note <> \'\');',
      'CREATE INDEX missing_idx ON app.missing (a);',
    ].join('\n'), { target: orders }, { target: fresh }, { target: fresh }, { target: events }, { target: orders }, { target: orders }, { target: orders }, { target: null });
    expect(check(rule, checked)).toEqual([]);
  });

  it('reports exactly the marked statements of fixtures/non-concurrent-index-build/ when check-migrations applies them to PostgreSQL', async () => {
    await expectMarkedFindings('non-concurrent-index-build');
  });
});
