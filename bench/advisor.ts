/**
 * `npm run bench:advisor`: does the advisor's advice pay off? On the demo database it
 * replays the recorded workload, measures its total execution time (pg_stat_statements),
 * applies the indexes `missing-index` proposes, replays the same workload again and
 * measures again.
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
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function workloadTime(client: pg.Client): Promise<{ ms: number; statements: number }> {
  await client.query('SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)');
  for (let round = 0; round < ROUNDS; round++) await runWorkload(client, join(DEMO, 'workload.sql'));
  const { rows } = await client.query<{ ms: number; statements: number }>(`
    SELECT sum(total_exec_time)::float8 AS ms, count(*)::int AS statements FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND query !~* '^(SELECT pg_stat_statements_reset|DELETE|UPDATE|INSERT)'`);
  return rows[0] ?? { ms: 0, statements: 0 };
}

const server = await startEmbeddedPostgres();
try {
  await server.createDatabase('bench', await readFile(join(DEMO, 'schema.sql'), 'utf8'));
  const url = server.url('bench');
  await withClient(url, async (client) => {
    await client.query('CREATE EXTENSION pg_stat_statements');
    await client.query('ANALYZE');
    // The workload's writes (deletes) run once, before measuring, so both rounds read the same data.
    const before = await workloadTime(client);
    const { snapshot } = await collectFromDatabase(url);
    const findings = analyze(snapshot, await loadRules(), EMPTY_CONFIG, { only: ['missing-index'] }).findings;
    for (const action of findings.flatMap((finding) => finding.actions)) {
      if (action.kind !== 'manual') await client.query(action.sql);
    }
    await client.query('ANALYZE');
    const after = await workloadTime(client);
    console.log(`workload: ${ROUNDS} replays of fixtures/demo/workload.sql (${before.statements} read statements)`);
    console.log(`indexes proposed and applied: ${findings.length}`);
    for (const finding of findings) console.log(`  ${finding.actions.map((action) => action.sql).join(' ')}`);
    console.log(`total execution time of the read statements: before ${before.ms.toFixed(1)} ms, after ${after.ms.toFixed(1)} ms (${(before.ms / Math.max(after.ms, 0.001)).toFixed(1)}x faster)`);
  });
} finally {
  await server.stop();
}
