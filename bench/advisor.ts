/**
 * `npm run bench:advisor`: does the advisor's advice pay off? On one copy of the demo
 * database it replays the recorded workload and measures its total execution time
 * (pg_stat_statements); it applies the indexes `missing-index` proposes to a second copy,
 * replays the same workload there and measures again.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { analyze } from '../src/analyze/engine.js';
import { loadRules } from '../src/analyze/registry.js';
import { EMPTY_CONFIG } from '../src/config/load.js';
import { collectFromDatabase } from '../src/commands/source.js';
import { startEmbeddedPostgres, withClient } from '../src/embedded/server.js';
import { runWorkload } from '../src/embedded/workload.js';
import { FIXTURES_DIR } from '../src/paths.js';

const DEMO = join(FIXTURES_DIR, 'demo');

/** Replays the demo workload on a fresh database and returns its read statements' total execution time. */
async function replay(client: pg.Client): Promise<{ ms: number; statements: number }> {
  await client.query('SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0), pg_stat_reset()');
  await runWorkload(client, join(DEMO, 'workload.sql'));
  const { rows } = await client.query<{ ms: number; statements: number }>(`
    SELECT sum(total_exec_time)::float8 AS ms, count(*)::int AS statements FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query ~* '^\\s*(SELECT|WITH)'
      AND query !~* 'pg_stat_statements_reset'`);
  return rows[0] ?? { ms: 0, statements: 0 };
}

const server = await startEmbeddedPostgres();
try {
  const schema = await readFile(join(DEMO, 'schema.sql'), 'utf8');
  // Two copies of the demo database: the workload as it runs today, and with the advice applied.
  for (const name of ['before', 'after']) await server.createDatabase(name, `CREATE EXTENSION pg_stat_statements; ${schema}`);
  const before = await withClient(server.url('before'), replay);
  const { snapshot } = await collectFromDatabase(server.url('before'));
  const findings = analyze(snapshot, await loadRules(), EMPTY_CONFIG, { only: ['missing-index'] }).findings;
  const after = await withClient(server.url('after'), async (client) => {
    for (const action of findings.flatMap((finding) => finding.actions)) {
      if (action.kind !== 'manual') await client.query(action.sql);
    }
    await client.query('ANALYZE');
    return replay(client);
  });
  console.log(`workload: fixtures/demo/workload.sql replayed once on each copy (${before.statements} read statements)`);
  console.log(`indexes proposed by missing-index and applied to the second copy: ${findings.length}`);
  for (const finding of findings) console.log(`  ${finding.actions.map((action) => action.sql).join(' ')}`);
  const speedup = before.ms / Math.max(after.ms, 0.001);
  console.log(`total execution time of the read statements: before ${before.ms.toFixed(1)} ms, after ${after.ms.toFixed(1)} ms (${speedup.toFixed(1)}x faster)`);
} finally {
  await server.stop();
}
