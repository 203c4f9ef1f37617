/**
 * Small readers over libpg-query's JSON parse tree, where every node is an object with
 * one key naming its type: `{ "ColumnRef": { "fields": [...] } }`.
 */
export type Node = Readonly<Record<string, unknown>>;

/** The node's type name and body, e.g. `['A_Expr', {...}]`; null for anything else. */
export function nodeType(value: unknown): [string, Node] | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const entries = Object.entries(value);
  if (entries.length !== 1) return null;
  const [type, body] = entries[0]!;
  return body && typeof body === 'object' && !Array.isArray(body) ? [type, body as Node] : null;
}

/** The body of a node of the given type, else null. */
export function bodyOf(value: unknown, type: string): Node | null {
  const node = nodeType(value);
  return node && node[0] === type ? node[1] : null;
}

/** A list field (absent lists are omitted from the JSON). */
export function listOf(value: unknown): readonly unknown[] {
  if (Array.isArray(value)) return value;
  const list = bodyOf(value, 'List');
  return list && Array.isArray(list.items) ? list.items : [];
}

/** The `sval`s of a list of String nodes (names, qualified names, operator names). */
export function strings(value: unknown): string[] {
  return listOf(value).flatMap((item) => {
    const text = bodyOf(item, 'String')?.sval;
    return typeof text === 'string' ? [text] : [];
  });
}

/** The name parts of a ColumnRef (`d.owner_id` → ['d', 'owner_id']); null for `*` or a non-column. */
export function columnRef(value: unknown): string[] | null {
  const ref = bodyOf(value, 'ColumnRef');
  if (!ref) return null;
  const fields = listOf(ref.fields);
  const names = strings(fields);
  return names.length === fields.length && names.length > 0 ? names : null;
}

/** True when the expression refers to no column and holds no subquery: a parameter, literal or expression of them. */
export function isConstant(value: unknown): boolean {
  if (Array.isArray(value)) return value.every(isConstant);
  if (!value || typeof value !== 'object') return true;
  const node = nodeType(value);
  if (node && (node[0] === 'ColumnRef' || node[0] === 'SubLink')) return false;
  return Object.values(value).every(isConstant);
}

/** Calls `visit` on every SubLink inside `value`, without descending into the subqueries themselves. */
export function forEachSubLink(value: unknown, visit: (subLink: Node) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) forEachSubLink(item, visit);
    return;
  }
  if (!value || typeof value !== 'object') return;
  const subLink = bodyOf(value, 'SubLink');
  if (subLink) {
    visit(subLink);
    forEachSubLink(subLink.testexpr, visit);
    return;
  }
  for (const child of Object.values(value)) forEachSubLink(child, visit);
}
