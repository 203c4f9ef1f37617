import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, withClient, type EmbeddedServer } from '../../src/embedded/server.js';
import { runCli, startCli } from '../helpers/cli.js';

const FAST = { PERFAUDIT_RETRY_BASE_MS: '100' };
const APPLY = ['apply', '--only', 'missing-fk-index', '--yes'];

// 2M rows, so that a build takes seconds; a parent with deletes makes its FK critical,
// so it comes first in the plan, before the small table's.
const SCHEMA = `CREATE SCHEMA app;
  CREATE TABLE app.parents (id bigint PRIMARY KEY);
  INSERT INTO app.parents SELECT g FROM generate_series(1, 2000) g;
  CREATE TABLE app.children (id bigint PRIMARY KEY, parent_id bigint NOT NULL REFERENCES app.parents ON DELETE CASCADE, pad text);
  ALTER TABLE app.children DISABLE TRIGGER ALL;
  INSERT INTO app.children SELECT g, 1 + g % 1990, md5(g::text) FROM generate_series(1, 2000000) g;
  ALTER TABLE app.children ENABLE TRIGGER ALL;
  DELETE FROM app.parents WHERE id > 1990;
  CREATE TABLE app.small_children (id bigint PRIMARY KEY, parent_id bigint NOT NULL REFERENCES app.parents);
  INSERT INTO app.small_children SELECT g, 1 + g % 100 FROM generate_series(1, 1000) g;
  ANALYZE;`;

const INDEXES_SQL = `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'app' AND NOT i.indisprimary ORDER BY 1`;

// Its own server, which these tests stop and start: never the shared one.
describe('apply under faults', () => {
  let server: EmbeddedServer;
  let url: string;
  const query = <Row>(sql: string) => withClient(url, async (client) => (await client.query(sql)).rows as Row[]);
  const indexes = () => query<{ name: string; valid: boolean }>(INDEXES_SQL);

  beforeAll(async () => {
    // Commits flushed to the WAL, as on a real server: else the crash loses the build's catalog entry.
    server = await startEmbeddedPostgres({ settings: { synchronous_commit: 'on' } });
    await server.createDatabase('faults', SCHEMA);
    url = server.url('faults');
  }, 180_000);
  afterAll(() => server?.stop());

  /** Drops what an earlier test built, so each starts with both foreign keys unindexed. */
  const unindexed = async () => {
    for (const { name } of await indexes()) await query(`DROP INDEX app.${name}`);
  };

  /** Starts apply and resolves once its build on app.children is scanning the table. */
  const applyUntilBuilding = async () => {
    const running = startCli([...APPLY, '-d', url], FAST);
    const watcher = new pg.Client({ connectionString: url });
    await watcher.connect();
    try {
      await expect.poll(async () => (await watcher.query(`SELECT 1 FROM pg_stat_progress_create_index
        WHERE relid = 'app.children'::regclass AND phase LIKE 'building index%'`)).rowCount, { timeout: 60_000, interval: 20 }).toBe(1);
    } finally {
      await watcher.end();
    }
    return running;
  };

  /** A second run finishes the job: both foreign keys indexed, no INVALID index left. */
  const expectSecondRunFinishes = async () => {
    const second = await runCli([...APPLY, '-d', url], FAST);
    expect(second.stderr).toMatch(/ 0 failed, 0 gave up on lock timeouts\n$/);
    expect(second.code).toBe(0);
    const left = await indexes();
    expect(left.filter((index) => !index.valid)).toEqual([]);
    expect(left.map((index) => index.name)).toEqual([expect.stringMatching(/^children_parent_id_idx1?$/), 'small_children_parent_id_idx']);
    return second;
  };

  it('a server restart mid-build: one line, exit 2, and the next run drops the leftover and rebuilds', async () => {
    await unindexed();
    const { done } = await applyUntilBuilding();
    await server.halt('immediate');
    const first = await done;
    await server.restart();

    expect(first.code).toBe(2);
    expect(first.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const lost = first.stderr.split('\n').filter((line) => /lost the connection/.test(line));
    expect(lost).toEqual([expect.stringMatching(/^\[1\/2\] CREATE INDEX CONCURRENTLY IF NOT EXISTS children_parent_id_idx ON app\.children \(parent_id\); failed: lost the connection to the server \(.+\); stopping here, run perfaudit apply again to finish$/)]);
    expect(first.stderr).toMatch(/\n0 done, 0 skipped, 1 failed, 0 gave up on lock timeouts, 1 not run \(connection lost\)\n$/);
    // The crashed build's catalog entry survives the restart, INVALID, under the planned name.
    expect(await indexes()).toEqual([{ name: 'children_parent_id_idx', valid: false }]);

    const second = await expectSecondRunFinishes();
    expect(second.stderr).toContain('dropped the invalid index app.children_parent_id_idx left behind by an earlier build');
  }, 180_000);

  it('Ctrl-C mid-build cancels the statement, drops its INVALID index and exits 130', async () => {
    await unindexed();
    const { child, done } = await applyUntilBuilding();
    child.kill('SIGINT');
    const result = await done;
    expect(result.code).toBe(130);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stderr).toContain('interrupted: cancelling the running statement\n');
    expect(result.stderr).toMatch(/^\[1\/2\] CREATE INDEX CONCURRENTLY .* failed: interrupted \(canceling statement due to user request\)$/m);
    expect(result.stderr).toContain('    dropped the invalid index app.children_parent_id_idx left behind\n');
    expect(result.stderr).toMatch(/\n0 done, 0 skipped, 1 failed, 0 gave up on lock timeouts, 1 not run \(interrupted\)\n$/);
    expect(await indexes()).toEqual([]);
    await expectSecondRunFinishes();
  }, 180_000);

  it('an INVALID index under the very name a build is about to use is dropped first, not kept by IF NOT EXISTS', async () => {
    await unindexed();
    const { done } = await applyUntilBuilding();
    // While the first build runs, a failed unique build leaves an INVALID index under the
    // name the plan (made before it existed) gives the second.
    await query('CREATE UNIQUE INDEX CONCURRENTLY small_children_parent_id_idx ON app.small_children (parent_id)').catch(() => undefined);
    expect(await query(`SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'app.small_children_parent_id_idx'::regclass`)).toEqual([{ valid: false }]);
    const result = await done;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/\n {4}dropped the invalid index app\.small_children_parent_id_idx left behind\n\[2\/2\] CREATE INDEX CONCURRENTLY IF NOT EXISTS small_children_parent_id_idx ON app\.small_children \(parent_id\); done in/);
    expect(await indexes()).toEqual([{ name: 'children_parent_id_idx', valid: true }, { name: 'small_children_parent_id_idx', valid: true }]);
    expect(await query(`SELECT indisunique AS unique FROM pg_index WHERE indexrelid = 'app.small_children_parent_id_idx'::regclass`)).toEqual([{ unique: false }]);
  }, 180_000);
});
