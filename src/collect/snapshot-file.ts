import { readFile, writeFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { SNAPSHOT_FORMAT, type Snapshot } from './snapshot.js';
import { snapshotProblem } from './snapshot-shape.js';

export async function writeSnapshot(snapshot: Snapshot, file: string): Promise<void> {
  try {
    await writeFile(file, `${JSON.stringify(snapshot, null, 1)}\n`);
  } catch (error) {
    throw new UsageError(`cannot write snapshot ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** Reads a snapshot file written by `perfaudit snapshot` (see parseSnapshot). */
export async function readSnapshot(file: string): Promise<Snapshot> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read snapshot ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return parseSnapshot(text, file);
}

/**
 * A snapshot from its JSON text, checked field by field before any rule sees it: a file
 * from a newer perfaudit, or edited by hand, is a usage error naming the first bad field
 * (`snapshot.json: tables[3].columns is not an array`), never a crash inside a rule.
 */
export function parseSnapshot(text: string, file: string): Snapshot {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UsageError(`snapshot ${file} is not valid JSON`);
  }
  const format = (data as { format?: unknown } | null)?.format;
  if (typeof format !== 'number') throw new UsageError(`${file} is not a perfaudit snapshot (it has no "format" number)`);
  if (format > SNAPSHOT_FORMAT) {
    throw new UsageError(`snapshot ${file} has format ${format}; this perfaudit reads format ${SNAPSHOT_FORMAT} (upgrade perfaudit)`);
  }
  const problem = snapshotProblem(data);
  if (problem) throw new UsageError(`${file}: ${problem}`);
  return data as Snapshot;
}
