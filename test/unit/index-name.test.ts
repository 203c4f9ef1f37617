import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseIndexName, MAX_IDENTIFIER_BYTES, truncateBytes } from '../../src/plan/index-name.js';
import { qualify, quoteIdent } from '../../src/plan/quote.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

const bytes = (text: string): number => Buffer.byteLength(text);
/** Whether `text` survives a UTF-8 round trip (no split character, no replacement char). */
const wholeUtf8 = (text: string): boolean => Buffer.from(text).toString() === text && !text.includes('\uFFFD');

const LONG_ASCII = 'customer_subscription_billing_history_entries_archive';
const LONG_MULTI = 'Ünïcødé_表_テーブル_日本語の非常に長いテーブル名前';

describe('chooseIndexName', () => {
  it('names short indexes {table}_{columns}_idx', () => {
    expect(chooseIndexName('tasks', ['project_id'], new Set())).toBe('tasks_project_id_idx');
    expect(chooseIndexName('milestones', ['tenant_id', 'project_id'], new Set())).toBe('milestones_tenant_id_project_id_idx');
    expect(chooseIndexName('Ünïcødé 表', ['Ça va'], new Set())).toBe('Ünïcødé 表_Ça va_idx');
  });

  it('keeps a name of exactly 63 bytes as it is', () => {
    const table = 'x'.repeat(63 - '_c_idx'.length);
    const name = chooseIndexName(table, ['c'], new Set());
    expect(name).toBe(`${table}_c_idx`);
    expect(bytes(name)).toBe(63);
  });

  it('cuts long ASCII names to 63 bytes with a hash, keeping the _idx suffix', () => {
    const name = chooseIndexName(LONG_ASCII, ['organization_id', 'external_reference_id'], new Set());
    expect(bytes(name)).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
    expect(bytes(name)).toBe(63);
    // 63 bytes = 50 bytes of the full name + '_' + 8 hex digits + '_idx'.
    expect(name.slice(0, 50)).toBe(LONG_ASCII.slice(0, 50));
    expect(name.slice(50)).toMatch(/^_[0-9a-f]{8}_idx$/);
  });

  it('cuts long multibyte names at a character boundary, within 63 bytes', () => {
    for (let extra = 0; extra < 6; extra++) {
      // Shift the cut point across every byte of a 3-byte character.
      const table = 'a'.repeat(extra) + LONG_MULTI;
      const name = chooseIndexName(table, ['列名前', 'Ça'], new Set());
      expect(bytes(name)).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
      expect(bytes(name)).toBeGreaterThan(MAX_IDENTIFIER_BYTES - 4); // at most one 4-byte char short
      expect(wholeUtf8(name)).toBe(true);
      expect(table.startsWith(name.replace(/_[0-9a-f]{8}_idx$/, ''))).toBe(true);
    }
  });

  it('never splits a 4-byte character (emoji)', () => {
    const name = chooseIndexName('🐘'.repeat(20), ['c'], new Set());
    expect(bytes(name)).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
    expect(wholeUtf8(name)).toBe(true);
    expect(name).toMatch(/^(🐘)+_[0-9a-f]{8}_idx$/);
  });

  it('keeps two long names that share their first 63 bytes distinct', () => {
    const prefix = 'p'.repeat(70);
    const a = chooseIndexName(`${prefix}_alpha`, ['c'], new Set());
    const b = chooseIndexName(`${prefix}_beta`, ['c'], new Set());
    expect(a).not.toBe(b);
    expect(bytes(a)).toBeLessThanOrEqual(63);
    expect(bytes(b)).toBeLessThanOrEqual(63);
    // Same table, columns differing only past the cut.
    const c = chooseIndexName(LONG_ASCII, ['column_that_is_quite_long_1'], new Set());
    const d = chooseIndexName(LONG_ASCII, ['column_that_is_quite_long_2'], new Set());
    expect(c).not.toBe(d);
  });

  it('is deterministic', () => {
    expect(chooseIndexName(LONG_ASCII + LONG_ASCII, ['x'], new Set())).toBe(chooseIndexName(LONG_ASCII + LONG_ASCII, ['x'], new Set()));
  });

  it('adds a counter when the name is taken, and records the names it hands out', () => {
    const taken = new Set(['tasks_project_id_idx']);
    expect(chooseIndexName('tasks', ['project_id'], taken)).toBe('tasks_project_id_idx1');
    expect(chooseIndexName('tasks', ['project_id'], taken)).toBe('tasks_project_id_idx2');
    expect(taken).toEqual(new Set(['tasks_project_id_idx', 'tasks_project_id_idx1', 'tasks_project_id_idx2']));
  });

  it('adds a counter to long names too, still within 63 bytes', () => {
    const taken = new Set<string>();
    const names = Array.from({ length: 12 }, () => chooseIndexName(LONG_MULTI + LONG_ASCII, ['c'], taken));
    expect(new Set(names).size).toBe(12);
    for (const name of names) {
      expect(bytes(name)).toBeLessThanOrEqual(63);
      expect(wholeUtf8(name)).toBe(true);
    }
    expect(names[1]).toMatch(/_idx1$/);
    expect(names[11]).toMatch(/_idx11$/);
  });

  it('moves to the hash form when a counter pushes a 63-byte name over the limit', () => {
    const table = 'y'.repeat(63 - '_c_idx'.length);
    const taken = new Set<string>();
    const first = chooseIndexName(table, ['c'], taken);
    const second = chooseIndexName(table, ['c'], taken);
    expect(first).toBe(`${table}_c_idx`);
    expect(second).toMatch(/_[0-9a-f]{8}_idx1$/);
    expect(bytes(second)).toBeLessThanOrEqual(63);
  });
});

describe('truncateBytes', () => {
  it('returns the longest whole-character prefix within the byte budget', () => {
    expect(truncateBytes('abc', 2)).toBe('ab');
    expect(truncateBytes('表表', 5)).toBe('表');
    expect(truncateBytes('表表', 6)).toBe('表表');
    expect(truncateBytes('é', 1)).toBe('');
    expect(truncateBytes('🐘a', 3)).toBe('');
    expect(truncateBytes('🐘a', 5)).toBe('🐘a');
  });
});

describe('generated names on the server', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase();
  });
  afterAll(() => db.drop());

  it('are accepted unchanged: pg_class.relname equals the generated name, not truncated', async () => {
    const cases: Array<{ table: string; columns: string[] }> = [
      { table: LONG_ASCII, columns: ['organization_identifier', 'external_reference_identifier'] },
      { table: LONG_MULTI, columns: ['列名前', 'Ça va'] },
      { table: `a${LONG_MULTI}`, columns: ['列名前'] },
      { table: `aa${LONG_MULTI}`, columns: ['列名前'] },
      { table: '🐘'.repeat(15), columns: ['c'] },
      { table: 'x'.repeat(57), columns: ['c'] },
    ];
    const taken = new Set<string>();
    const expected: string[] = [];
    for (const { table, columns } of cases) {
      // Table names themselves must fit; the server would truncate them otherwise.
      const tableName = truncateBytes(table, 63);
      const definition = columns.map((column) => `${quoteIdent(column)} int`).join(', ');
      await db.run(`CREATE TABLE ${qualify('public', tableName)} (${definition});`);
      for (let copy = 0; copy < 2; copy++) {
        const name = chooseIndexName(tableName, columns, taken);
        expect(bytes(name)).toBeLessThanOrEqual(63);
        await db.run(`CREATE INDEX ${quoteIdent(name)} ON ${qualify('public', tableName)} (${columns.map(quoteIdent).join(', ')});`);
        expected.push(name);
      }
    }
    const rows = await db.query<{ relname: string }>(
      `SELECT relname FROM pg_class WHERE relkind = 'i' AND relnamespace = 'public'::regnamespace`);
    expect(rows.map((row) => row.relname).sort()).toEqual([...expected].sort());
    expect(new Set(expected).size).toBe(expected.length);
  });
});
