import type { Table } from '../collect/snapshot.js';

/** 1234567 → "1.2M": counts in messages read at a glance; evidence keeps exact numbers. */
export function formatCount(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${trim(value / 1e9)}G`;
  if (abs >= 1e6) return `${trim(value / 1e6)}M`;
  if (abs >= 1e4) return `${trim(value / 1e3)}k`;
  return String(Math.round(value));
}

/** Bytes in binary units: 8192 → "8 kB", as PostgreSQL's pg_size_pretty writes them. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 10 * 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Math.round(value)} ${units[unit]}`;
}

function trim(value: number): string {
  return value.toFixed(1).replace(/\.0$/, '');
}

/** Table statistics summed over tables (leaf partitions of one tree, say). */
export function sumStats(tables: readonly Table[]): { deleted: number; updated: number; inserted: number; seqScan: number } {
  const total = { deleted: 0, updated: 0, inserted: 0, seqScan: 0 };
  for (const table of tables) {
    total.deleted += table.stats?.deleted ?? 0;
    total.updated += table.stats?.updated ?? 0;
    total.inserted += table.stats?.inserted ?? 0;
    total.seqScan += table.stats?.seqScan ?? 0;
  }
  return total;
}
