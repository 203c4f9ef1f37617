import type { Lookup } from '../collect/lookup.js';
import type { Index, IndexKey, Table } from '../collect/snapshot.js';
import type { Action } from '../rule.js';
import { chooseIndexName } from './index-name.js';
import { qualify, quoteIdent, quoteLiteral } from './quote.js';

const ORDERED_METHODS = new Set(['btree']);
const BUILD_LOCK = 'SHARE UPDATE EXCLUSIVE';

/**
 * Renders an existing index's definition from the snapshot (no `pg_get_indexdef` call
 * per index), under its own name or another.
 *
 * @example CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_a_idx ON app.tasks USING btree (a DESC NULLS LAST) WHERE (a > 0);
 */
export function indexDefinition(index: Index, table: Table, lookup: Lookup, how: { concurrently: boolean; name?: string }): string {
  const keys = index.keys.map((key) => renderKey(key, index, lookup)).join(', ');
  const include = index.include.length
    ? ` INCLUDE (${index.include.map((attnum) => quoteIdent(lookup.columnName(index.tableOid, attnum))).join(', ')})`
    : '';
  const parts = [
    `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${how.concurrently ? 'CONCURRENTLY ' : ''}IF NOT EXISTS ${quoteIdent(how.name ?? index.name)}`,
    ` ON ${qualify(table.schema, table.name)} USING ${quoteIdent(index.method)} (${keys})${include}`,
    index.nullsNotDistinct ? ' NULLS NOT DISTINCT' : '',
    index.reloptions.length ? ` WITH (${index.reloptions.map(renderOption).join(', ')})` : '',
    index.tablespace ? ` TABLESPACE ${quoteIdent(index.tablespace)}` : '',
    index.predicate ? ` WHERE (${index.predicate})` : '',
  ];
  return `${parts.join('')};`;
}

function renderKey(key: IndexKey, index: Index, lookup: Lookup): string {
  const column = key.expression === null ? quoteIdent(lookup.columnName(index.tableOid, key.attnum)) : `(${key.expression})`;
  // A column key may omit its column's own collation. An expression key always states its
  // collation: the snapshot does not know the expression's own collation, so "default" may
  // not be it (`(lower(c)) COLLATE "default"` on a column c COLLATE "C" would come back as "C").
  const stateCollation = key.expression === null ? !key.collationIsDefault : true;
  const collation = stateCollation && key.collation ? ` COLLATE ${qualify(key.collation.schema, key.collation.name)}` : '';
  const opclass = key.opclassIsDefault ? '' : ` ${qualify(key.opclass.schema, key.opclass.name)}`;
  let order = '';
  if (ORDERED_METHODS.has(index.method)) {
    if (key.descending) order = key.nullsFirst ? ' DESC' : ' DESC NULLS LAST';
    else if (key.nullsFirst) order = ' NULLS FIRST';
  }
  return column + collation + opclass + order;
}

function renderOption(option: string): string {
  const split = option.indexOf('=');
  const name = option.slice(0, split);
  return `${/^[a-z_][a-z0-9_.]*$/.test(name) ? name : quoteIdent(name)}=${quoteLiteral(option.slice(split + 1))}`;
}

/**
 * The drop of an index: concurrent (no lock that blocks writes) where PostgreSQL allows
 * it, which excludes partitioned indexes. `keeping` names the index that makes the drop
 * safe (its duplicate, its covering index), so a plan never drops both.
 */
export function dropIndexAction(index: Index, table: Table, lookup: Lookup, keeping?: Index): Action {
  const partitioned = table.kind === 'partitioned';
  return {
    ...(keeping ? { dependsOn: { schema: keeping.schema, name: keeping.name } } : {}),
    kind: 'drop-index',
    sql: `DROP INDEX ${partitioned ? '' : 'CONCURRENTLY '}IF EXISTS ${qualify(index.schema, index.name)};`,
    transactional: partitioned,
    lock: partitioned ? 'ACCESS EXCLUSIVE' : BUILD_LOCK,
    undo: indexDefinition(index, table, lookup, { concurrently: !partitioned }),
  };
}

/** Hands out new index names that are unique in their schema, in the snapshot and in this plan. */
export function indexNamer(lookup: Lookup): IndexNamer {
  const taken = new Map<string, Set<string>>();
  return (table, columns) => {
    let names = taken.get(table.schema);
    if (!names) {
      names = new Set(lookup.relationNames(table.schema));
      taken.set(table.schema, names);
    }
    return chooseIndexName(table.name, columns, names);
  };
}

/**
 * The statements that build a btree index on `columns` without blocking writes:
 * `CREATE INDEX CONCURRENTLY` on a plain table; on a partitioned table, which refuses
 * CONCURRENTLY, the index is created `ON ONLY` the parent (invalid, instant), built
 * concurrently on each partition, and attached, after which the parent becomes valid.
 *
 * @example CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_project_id_idx ON app.tasks (project_id);
 */
export function createIndexActions(table: Table, columns: readonly string[], lookup: Lookup, name: IndexNamer): Action[] {
  return buildIndex(table, columns, lookup, name).actions;
}

export type IndexNamer = (table: Table, columns: readonly string[]) => string;

function buildIndex(table: Table, columns: readonly string[], lookup: Lookup, name: IndexNamer): { name: string; actions: Action[] } {
  const indexName = name(table, columns);
  const keyList = columns.map(quoteIdent).join(', ');
  if (table.kind !== 'partitioned') {
    return {
      name: indexName,
      actions: [{
        kind: 'create-index',
        sql: `CREATE INDEX CONCURRENTLY IF NOT EXISTS ${quoteIdent(indexName)} ON ${qualify(table.schema, table.name)} (${keyList});`,
        transactional: false,
        lock: BUILD_LOCK,
        undo: `DROP INDEX CONCURRENTLY IF EXISTS ${qualify(table.schema, indexName)};`,
      }],
    };
  }
  const parent: Action = {
    kind: 'create-index',
    sql: `CREATE INDEX IF NOT EXISTS ${quoteIdent(indexName)} ON ONLY ${qualify(table.schema, table.name)} (${keyList});`,
    transactional: true,
    lock: 'SHARE',
    undo: `DROP INDEX IF EXISTS ${qualify(table.schema, indexName)};`,
  };
  const children = lookup.partitionsOf(table.oid).flatMap((partition) => {
    const child = buildIndex(partition, columns, lookup, name);
    const attach: Action = {
      kind: 'create-index',
      sql: `ALTER INDEX ${qualify(table.schema, indexName)} ATTACH PARTITION ${qualify(partition.schema, child.name)};`,
      transactional: true,
      lock: BUILD_LOCK,
    };
    return [...child.actions, attach];
  });
  return { name: indexName, actions: [parent, ...children] };
}
