import { writeSnapshot } from '../collect/snapshot-file.js';
import { collectFromDatabase } from './source.js';

/** `perfaudit snapshot`: writes the collected snapshot as JSON for offline scans. */
export async function snapshotCommand(options: { dbname?: string; output: string }): Promise<number> {
  const { snapshot, statements } = await collectFromDatabase(options.dbname);
  await writeSnapshot(snapshot, options.output);
  process.stderr.write(`wrote ${options.output}: ${snapshot.tables.length} tables, ${snapshot.indexes.length} indexes (${statements} statements)\n`);
  return 0;
}
