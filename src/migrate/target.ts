import { qualify, quoteIdent } from '../plan/quote.js';

interface RangeVar {
  readonly schemaname?: string;
  readonly relname: string;
}

type Node = Readonly<Record<string, unknown>>;

/**
 * The quoted name of the table or index a statement changes or locks, as written in it
 * (unqualified names resolve through search_path on the server): ALTER TABLE's,
 * CREATE INDEX's table, DROP INDEX's and REINDEX's index or table, CLUSTER's, VACUUM's
 * first, LOCK's and TRUNCATE's first. Null when the statement names none.
 */
export function targetName(kind: string, node: Node): string | null {
  switch (kind) {
    case 'DropStmt': return droppedName(node);
    case 'VacuumStmt': return rangeVarName(first(node.rels, 'VacuumRelation')?.relation);
    case 'LockStmt':
    case 'TruncateStmt': return rangeVarName(first(node.relations, 'RangeVar'));
    case 'CreateStmt':
    case 'CreateTableAsStmt':
    case 'ViewStmt': return null;
    default: return rangeVarName(node.relation ?? node.table);
  }
}

// DROP INDEX/TABLE name the relation; DROP TRIGGER/RULE/POLICY name [schema.]table.object.
const DROPPED_RELATION = new Set(['OBJECT_INDEX', 'OBJECT_TABLE', 'OBJECT_MATVIEW']);
const DROPPED_ON_TABLE = new Set(['OBJECT_TRIGGER', 'OBJECT_RULE', 'OBJECT_POLICY']);

function droppedName(node: Node): string | null {
  const items = (first(node.objects, 'List')?.items ?? []) as readonly { String?: { sval: string } }[];
  const parts = items.map((item) => item.String?.sval ?? '');
  if (DROPPED_ON_TABLE.has(String(node.removeType))) parts.pop();
  else if (!DROPPED_RELATION.has(String(node.removeType))) return null;
  const name = parts.at(-1);
  if (!name) return null;
  return parts.length > 1 ? qualify(parts.at(-2) ?? '', name) : quoteIdent(name);
}

function first(list: unknown, type: string): Node | undefined {
  return Array.isArray(list) ? (list[0] as Record<string, Node> | undefined)?.[type] : undefined;
}

function rangeVarName(value: unknown): string | null {
  const range = value as RangeVar | undefined;
  if (!range?.relname) return null;
  return range.schemaname ? qualify(range.schemaname, range.relname) : quoteIdent(range.relname);
}
