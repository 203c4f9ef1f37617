import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startEmbeddedPostgres, withClient } from '../embedded/server.js';
import { runWorkload } from '../embedded/workload.js';
import { FIXTURES_DIR } from '../paths.js';
import { scanCommand, type ScanFormat } from './scan.js';
import { progress } from './output.js';

const DEMO_DIR = join(FIXTURES_DIR, 'demo');
const DEMO_DATABASE = 'perfaudit_demo';

/**
 * `perfaudit demo`: an embedded PostgreSQL with a project-management database full of
 * planted problems and a recorded workload, scanned like any other database.
 */
export async function demoCommand(options: { format: ScanFormat; color: boolean }): Promise<number> {
  const spinner = progress('starting embedded PostgreSQL');
  const server = await startEmbeddedPostgres();
  try {
    spinner.update('loading the demo database');
    await server.createDatabase(DEMO_DATABASE, await readFile(join(DEMO_DIR, 'schema.sql'), 'utf8'));
    spinner.update('replaying the demo workload');
    await withClient(server.url(DEMO_DATABASE), async (client) => {
      await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      // The load is not application traffic: statement and table counters start after it.
      await client.query('SELECT pg_stat_statements_reset(), pg_stat_reset()');
      await runWorkload(client, join(DEMO_DIR, 'workload.sql'));
      await client.query(await readFile(join(DEMO_DIR, 'failed-migration.sql'), 'utf8')).then(
        () => Promise.reject(new Error('the demo migration meant to fail succeeded')),
        () => undefined,
      );
      // Flush this session's write counters first, or they land after ANALYZE and the
      // tables look modified since they were analyzed.
      await client.query('SELECT pg_stat_force_next_flush()');
      await client.query('ANALYZE');
    });
    spinner.done();
    return await scanCommand({
      dbname: server.url(DEMO_DATABASE),
      format: options.format,
      config: join(DEMO_DIR, 'perfaudit.yml'),
      failOn: 'none',
      color: options.color,
    });
  } finally {
    spinner.done();
    await server.stop();
  }
}
