import { createHash } from 'node:crypto';

/** PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes. */
export const MAX_IDENTIFIER_BYTES = 63;

/**
 * Names a new index `{table}_{columns}_idx`, like PostgreSQL would. When that exceeds
 * 63 bytes it is cut at a character boundary and a short hash of the full name keeps
 * distinct long names distinct; when the name is taken, a counter is added. The chosen
 * name is added to `taken`, so one plan never proposes the same name twice.
 *
 * @example chooseIndexName('tasks', ['project_id'], new Set()) // 'tasks_project_id_idx'
 */
export function chooseIndexName(table: string, columns: readonly string[], taken: Set<string>): string {
  const base = [table, ...columns].join('_');
  for (let attempt = 0; ; attempt++) {
    const suffix = attempt === 0 ? '_idx' : `_idx${attempt}`;
    const name = fitName(base, suffix);
    if (!taken.has(name)) {
      taken.add(name);
      return name;
    }
  }
}

/**
 * `base + suffix` cut to PostgreSQL's 63-byte limit; a cut name keeps a short hash of the
 * full base, so distinct long names stay distinct.
 *
 * @example fitName('orders_customer_id', '_fkey') // 'orders_customer_id_fkey'
 */
export function fitName(base: string, suffix: string): string {
  const whole = base + suffix;
  if (Buffer.byteLength(whole) <= MAX_IDENTIFIER_BYTES) return whole;
  const hash = `_${createHash('sha1').update(base).digest('hex').slice(0, 8)}`;
  return truncateBytes(base, MAX_IDENTIFIER_BYTES - Buffer.byteLength(hash + suffix)) + hash + suffix;
}

/** The longest prefix of `text` that fits in `bytes` UTF-8 bytes without splitting a character. */
export function truncateBytes(text: string, bytes: number): string {
  let out = '';
  let used = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (used + size > bytes) break;
    out += char;
    used += size;
  }
  return out;
}
