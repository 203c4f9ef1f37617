import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UsageError } from '../errors.js';
import { parseStatements, type ParsedStatement } from '../parse/statements.js';

/** A migration file's up section, ready to apply. */
export interface MigrationSource {
  readonly file: string;
  /**
   * The up section with every other line blanked, so parser line numbers are the
   * file's line numbers.
   */
  readonly sql: string;
  /** The tool runs the file in one transaction (goose and dbmate do unless told not to). */
  readonly implicitTransaction: boolean;
  /** The up section's statements, parsed before anything runs so a syntax error costs no server. */
  readonly statements: readonly ParsedStatement[];
}

/**
 * Reads migration files in the order a tool applies them: the files given, and each
 * directory's `.sql` files by version (numeric prefix) then name. golang-migrate's
 * `.down.sql` files are left out; goose and dbmate files contribute their up section.
 */
export async function readMigrations(paths: readonly string[]): Promise<MigrationSource[]> {
  const files = (await Promise.all(paths.map(expand))).flat();
  return Promise.all(files.map(async (file) => {
    const section = upSection(file, await readText(file));
    return { ...section, statements: await parseStatements(section.sql, file) };
  }));
}

async function expand(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => {
    throw new UsageError(`cannot read ${path}: no such file or directory`);
  });
  if (!info.isDirectory()) return [path];
  const names = (await readdir(path)).filter((name) => name.endsWith('.sql') && !name.endsWith('.down.sql'));
  return names.sort(byVersion).map((name) => join(path, name));
}

/** `2_b.sql` before `10_a.sql`: tools order by the numeric version prefix, not by text. */
export function byVersion(a: string, b: string): number {
  const version = (name: string) => BigInt(/^V?(\d+)/.exec(name)?.[1] ?? '0');
  const [va, vb] = [version(a), version(b)];
  return va === vb ? a.localeCompare(b) : va < vb ? -1 : 1;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

// goose: `-- +goose Up` … `-- +goose Down`, `-- +goose NO TRANSACTION` anywhere.
// dbmate: `-- migrate:up [transaction:false]` … `-- migrate:down`.
const GOOSE = /^--\s*\+goose\s+(up|down)\b/i;
const GOOSE_NO_TRANSACTION = /^--\s*\+goose\s+no\s+transaction\b/im;
const DBMATE = /^--\s*migrate:(up|down)\b(.*)$/;

function upSection(file: string, text: string): Omit<MigrationSource, 'statements'> {
  const lines = text.split('\n');
  const marker = (line: string) => GOOSE.exec(line.trim()) ?? DBMATE.exec(line.trim());
  if (!lines.some((line) => marker(line))) return { file, sql: text, implicitTransaction: false };
  let inUp = false;
  let implicitTransaction = !GOOSE_NO_TRANSACTION.test(text);
  const kept = lines.map((line) => {
    const found = marker(line);
    if (found) {
      inUp = found[1]?.toLowerCase() === 'up';
      if (inUp && /transaction:\s*false/.test(found[2] ?? '')) implicitTransaction = false;
      return '';
    }
    return inUp ? line : '';
  });
  return { file, sql: kept.join('\n'), implicitTransaction };
}

/** Whether `file` is the `--since` file (given by path or by name). */
export function isSameMigration(file: string, since: string): boolean {
  return file === since || basename(file) === basename(since);
}
