/** Reads the index a plan statement creates or drops, from the statements perfaudit itself writes. */

const IDENT = String.raw`(?:"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)`;
const QUALIFIED = String.raw`(${IDENT})(?:\s*\.\s*(${IDENT}))?`;

function unquote(ident: string): string {
  return ident.startsWith('"') ? ident.slice(1, -1).replaceAll('""', '"') : ident.toLowerCase();
}

export interface IndexRef {
  readonly schema: string;
  readonly name: string;
}

/** `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] name ON [ONLY] schema.table …`: the index, in the table's schema. */
export function createdIndex(sql: string): (IndexRef & { concurrently: boolean }) | undefined {
  const match = new RegExp(String.raw`^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(${IDENT})\s+ON\s+(?:ONLY\s+)?${QUALIFIED}`, 'i').exec(sql);
  if (!match?.[2] || !match[3]) return undefined;
  const schema = match[4] ? unquote(match[3]) : 'public';
  return { schema, name: unquote(match[2]), concurrently: Boolean(match[1]) };
}

/** `DROP INDEX [CONCURRENTLY] [IF EXISTS] schema.name`. */
export function droppedIndex(sql: string): IndexRef | undefined {
  const match = new RegExp(String.raw`^\s*DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?${QUALIFIED}`, 'i').exec(sql);
  if (!match?.[1]) return undefined;
  return match[2] ? { schema: unquote(match[1]), name: unquote(match[2]) } : { schema: 'public', name: unquote(match[1]) };
}

export function qualifyIndex(ref: IndexRef): string {
  const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;
  return `${quote(ref.schema)}.${quote(ref.name)}`;
}
