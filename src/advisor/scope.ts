import type { Snapshot, Table } from '../collect/snapshot.js';
import { bodyOf, columnRef, listOf, nodeType, type Node } from './parse-tree.js';

/** A name in a FROM list: a table of the snapshot, or something else (CTE, subquery, function). */
export interface ScopeEntry {
  readonly alias: string;
  /** The table's own name when not aliased, for `schema.table.col` references. */
  readonly schema: string | null;
  readonly table: Table | null;
}

/** The names visible in one query level; `parent` is the enclosing query (correlated references). */
export interface Scope {
  readonly entries: ScopeEntry[];
  readonly ctes: ReadonlySet<string>;
  readonly parent: Scope | null;
}

export interface ResolvedColumn {
  readonly entry: ScopeEntry;
  readonly table: Table;
  readonly attnum: number;
  /** Whether it belongs to this query level (not an outer query's table). */
  readonly local: boolean;
}

/** Finds tables by name: `schema.name`, or an unqualified name in `public` or unique across schemas. */
export type TableResolver = (schema: string | null, name: string) => Table | null;

const resolvers = new WeakMap<Snapshot, TableResolver>();

export function tableResolver(snapshot: Snapshot): TableResolver {
  let resolver = resolvers.get(snapshot);
  if (!resolver) {
    const byName = new Map<string, Table[]>();
    for (const table of snapshot.tables) byName.set(table.name, [...(byName.get(table.name) ?? []), table]);
    // An unqualified name is looked up along the database's search_path (the snapshot's
    // setting; "$user" is skipped: the statement's role name is not known), else it is the
    // only table of that name; an ambiguous name is left unresolved.
    const searchPath = (snapshot.server.settings.search_path ?? '"$user", public').split(',')
      .map((part) => part.trim()).filter((part) => part !== '"$user"' && part !== '$user')
      .map((part) => (part.startsWith('"') ? part.slice(1, -1).replaceAll('""', '"') : part));
    resolver = (schema, name) => {
      const tables = byName.get(name) ?? [];
      if (schema !== null) return tables.find((table) => table.schema === schema) ?? null;
      for (const onPath of searchPath) {
        const found = tables.find((table) => table.schema === onPath);
        if (found) return found;
      }
      return tables.length === 1 ? tables[0]! : null;
    };
    resolvers.set(snapshot, resolver);
  }
  return resolver;
}

/** A new query level below `parent`, seeing the CTE names of a WITH clause and those above. */
export function childScope(parent: Scope | null, cteNames: readonly string[]): Scope {
  return { entries: [], ctes: new Set([...(parent?.ctes ?? []), ...cteNames]), parent };
}

/** Adds a RangeVar (a named relation) to the scope: a CTE when its name is one, else a table. */
export function addRangeVar(scope: Scope, rangeVar: Node, resolve: TableResolver): void {
  const name = String(rangeVar.relname);
  const schema = typeof rangeVar.schemaname === 'string' ? rangeVar.schemaname : null;
  const alias = aliasName(rangeVar.alias) ?? name;
  const isCte = schema === null && scope.ctes.has(name);
  const table = isCte ? null : resolve(schema, name);
  scope.entries.push({ alias, schema: table && alias === name ? table.schema : null, table });
}

/** Adds a subquery, function or other unnamed relation under its alias. */
export function addOpaque(scope: Scope, alias: unknown): void {
  const name = aliasName(alias);
  if (name) scope.entries.push({ alias: name, schema: null, table: null });
}

export function aliasName(alias: unknown): string | null {
  const name = bodyOf(alias, 'Alias')?.aliasname ?? (alias as Node | undefined)?.aliasname;
  return typeof name === 'string' ? name : null;
}

/**
 * Resolves a column reference as PostgreSQL would: `col` in the innermost level where a
 * table has it (ambiguous: unresolved), `t.col` by alias, `s.t.col` by schema and table.
 */
export function resolveColumn(scope: Scope, value: unknown): ResolvedColumn | null {
  const parts = columnRef(value);
  if (!parts || parts.length > 3) return null;
  const column = parts[parts.length - 1]!;
  for (let level: Scope | null = scope; level; level = level.parent) {
    const candidates = level.entries.filter((entry) => matches(entry, parts));
    const found = candidates.flatMap((entry) => {
      const attnum = entry.table?.columns.find((c) => c.name === column)?.attnum;
      return attnum === undefined || !entry.table ? [] : [{ entry, table: entry.table, attnum, local: level === scope }];
    });
    if (found.length === 1) return found[0]!;
    if (found.length > 1 || (parts.length > 1 && candidates.length > 0)) return null;
  }
  return null;
}

function matches(entry: ScopeEntry, parts: readonly string[]): boolean {
  if (parts.length === 1) return true;
  if (entry.alias !== parts[parts.length - 2]) return false;
  return parts.length === 2 || entry.schema === parts[0];
}

/** The items of a FROM list, flattening nothing: each is a RangeVar, JoinExpr, RangeSubselect, … */
export function fromItems(value: unknown): Array<[string, Node]> {
  return listOf(value).flatMap((item) => {
    const node = nodeType(item);
    return node ? [node] : [];
  });
}
