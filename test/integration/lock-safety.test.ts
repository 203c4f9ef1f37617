import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCAN_SESSION } from '../../src/connect/session.js';
import { withClient } from '../../src/embedded/server.js';
import { runCli } from '../helpers/cli.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';
import { monitorLocks, waitsOfPerfaudit, waitsOnPerfaudit } from '../helpers/locks.js';
import { requireSystemPostgres, startSystemPostgres, type SystemPostgres } from '../helpers/system-postgres.js';

interface Report {
  findings: Array<{ rule: string; target: { schema: string; table: string | null; name: string | null }; evidence: Record<string, unknown> }>;
  skipped: Array<{ rule: string; reason: string }>;
}

const dir = mkdtempSync(join(tmpdir(), 'perfaudit-locks-'));
// Every table and index a candidate for --exact, so pgstattuple would read the locked ones.
const exactConfig = join(dir, 'exact.yml');
writeFileSync(exactConfig, 'rules:\n  table-bloat:\n    minTableBytes: 0\n  index-bloat:\n    minIndexBytes: 0\n');

/** A session of its own (application_name `name`) that has run `statements` and stays as it is. */
async function session(url: string, name: string, ...statements: string[]): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: name });
  client.on('error', () => undefined);
  await client.connect();
  for (const statement of statements) await client.query(statement);
  return client;
}

async function pidOf(client: pg.Client): Promise<number> {
  return (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? 0;
}

const scan = (url: string, ...extra: string[]) => runCli(['scan', '-d', url, '--format', 'json', ...extra]);
const exactScan = (url: string) => scan(url, '--exact', '--config', exactConfig);
const key = (finding: Report['findings'][number]) => `${finding.rule} ${finding.target.schema}.${finding.target.table ?? ''}.${finding.target.name ?? ''}`;

describe('a scan never waits on a locked table', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase();
    await db.run(`CREATE SCHEMA app;
      CREATE EXTENSION pgstattuple;
      CREATE TABLE app.parents (id bigint PRIMARY KEY);
      INSERT INTO app.parents SELECT generate_series(1, 100);
      -- An expression and a partial index: deparsing them takes the table's lock.
      CREATE TABLE app.locked_children (id bigint PRIMARY KEY, parent_id bigint REFERENCES app.parents, note text);
      CREATE INDEX locked_children_note_idx ON app.locked_children (lower(note));
      CREATE INDEX locked_children_open_idx ON app.locked_children (id) WHERE note IS NULL;
      -- Plain indexes only: read from the catalog without its lock (but pgstattuple needs it).
      CREATE TABLE app.plain_locked (id bigint PRIMARY KEY, parent_id bigint REFERENCES app.parents);
      -- A partial index on a table whose ACCESS EXCLUSIVE lock is queued, not held.
      CREATE TABLE app.queued_children (id bigint PRIMARY KEY, parent_id bigint REFERENCES app.parents, note text);
      CREATE INDEX queued_children_open_idx ON app.queued_children (id) WHERE note IS NULL;
      CREATE TABLE app.free_children (id bigint PRIMARY KEY, parent_id bigint REFERENCES app.parents);
      -- A serial at 93% of its range, its sequence locked by a rename.
      CREATE TABLE app.orders (id serial PRIMARY KEY);
      SELECT setval('app.orders_id_seq', 2000000000);
      INSERT INTO app.locked_children SELECT g, 1 + g % 100, 'n' || g FROM generate_series(1, 2000) g;
      INSERT INTO app.plain_locked SELECT g, 1 + g % 100 FROM generate_series(1, 2000) g;
      INSERT INTO app.queued_children SELECT g, 1 + g % 100, 'n' || g FROM generate_series(1, 2000) g;
      INSERT INTO app.free_children SELECT g, 1 + g % 100 FROM generate_series(1, 2000) g;
      ANALYZE;`);
  });
  afterAll(() => db.drop());

  it('leaves out what it cannot read without waiting, says so, and reports everything else', async () => {
    const started = Date.now();
    const baseline = await exactScan(db.url);
    const baselineMs = Date.now() - started;
    expect(baseline.stderr).toBe('');
    const before = JSON.parse(baseline.stdout) as Report;
    const fkTables = (report: Report) => report.findings.filter((f) => f.rule === 'missing-fk-index').map((f) => f.target.table).sort();
    expect(fkTables(before)).toEqual(['free_children', 'locked_children', 'plain_locked', 'queued_children']);
    expect(before.findings.filter((f) => f.rule === 'sequence-exhaustion').map((f) => f.target.name)).toEqual(['orders_id_seq']);

    const holder = await session(db.url, 'lock-holder', 'BEGIN',
      'LOCK TABLE app.locked_children, app.plain_locked IN ACCESS EXCLUSIVE MODE',
      'ALTER SEQUENCE app.orders_id_seq RENAME TO orders_id_seq_renamed');
    const reader = await session(db.url, 'reader', 'BEGIN', 'SELECT count(*) FROM app.queued_children');
    const alterer = await session(db.url, 'alterer');
    const [holderPid, altererPid] = [await pidOf(holder), await pidOf(alterer)];
    const queued = alterer.query('ALTER TABLE app.queued_children ADD COLUMN extra int');
    const monitor = await monitorLocks(db.url);
    try {
      await expect.poll(() => db.query(`SELECT 1 FROM pg_locks WHERE NOT granted AND relation = 'app.queued_children'::regclass`)).toHaveLength(1);
      const lockedStart = Date.now();
      const locked = await exactScan(db.url);
      const lockedMs = Date.now() - lockedStart;
      const observed = await monitor.stop();
      // Still held: the scan did not wait for it.
      expect(await db.query(`SELECT 1 FROM pg_locks WHERE granted AND mode = 'AccessExclusiveLock' AND relation = 'app.locked_children'::regclass`)).toHaveLength(1);

      expect(locked.stderr).toBe('');
      // No usage error: the only finding above info (the sequence at 93%) is the one left out.
      expect([baseline.code, locked.code]).toEqual([1, 0]);
      expect(waitsOfPerfaudit(observed)).toEqual([]);
      expect(observed.waits.filter((wait) => wait.waiter === 'alterer').map((wait) => wait.blocker)).toEqual(['reader']); // the monitor sees waits
      expect(lockedMs).toBeLessThan(baselineMs + SCAN_SESSION.lockTimeoutMs + 3_000);

      const after = JSON.parse(locked.stdout) as Report;
      expect(after.skipped.filter((s) => s.rule === '*' || s.rule === 'sequence-exhaustion')).toEqual([
        { rule: '*', reason: `app.locked_children left out: session ${holderPid} holds or awaits an ACCESS EXCLUSIVE lock on it, and reading its index definitions would wait` },
        { rule: '*', reason: `app.queued_children left out: session ${altererPid} holds or awaits an ACCESS EXCLUSIVE lock on it, and reading its index definitions would wait` },
        { rule: 'sequence-exhaustion', reason: `app.orders_id_seq left out: session ${holderPid} holds or awaits an ACCESS EXCLUSIVE lock on it, and reading its last value would wait` },
      ]);
      // Everything else is reported as without the locks: plain_locked too.
      const leftOut = (finding: Report['findings'][number]) =>
        ['locked_children', 'queued_children'].includes(finding.target.table ?? '') || finding.target.name === 'orders_id_seq';
      expect(after.findings.map(key).sort()).toEqual(before.findings.filter((f) => !leftOut(f)).map(key).sort());
      expect(fkTables(after)).toEqual(['free_children', 'plain_locked']);
    } finally {
      await monitor.stop().catch(() => undefined);
      await holder.end();
      await reader.end();
      await queued.catch(() => undefined);
      await alterer.end();
    }
  });
});

// hypopg exists only for the machine's PostgreSQL 15. Verifying a proposal plans the
// statements it serves, which waits for the lock of every table they read.
describe('verification with hypopg under a lock', () => {
  let server: SystemPostgres;
  let url: string;
  beforeAll(async () => {
    requireSystemPostgres(['hypopg']);
    server = await startSystemPostgres();
    await withClient(server.url(), (client) => client.query('CREATE DATABASE locked'));
    url = server.url('locked');
    await withClient(url, (client) => client.query(`
      CREATE EXTENSION pg_stat_statements; CREATE EXTENSION hypopg;
      CREATE TABLE public.tickets (id bigint PRIMARY KEY, requester int NOT NULL, state text NOT NULL, body text);
      INSERT INTO public.tickets SELECT g, g % 5000, 'open', md5(g::text) FROM generate_series(1, 100000) g;
      CREATE INDEX tickets_state_idx ON public.tickets (state);
      CREATE INDEX tickets_state_copy_idx ON public.tickets (state);
      ANALYZE public.tickets;`));
    await withClient(url, (client) => client.query('SELECT pg_stat_statements_reset(), pg_stat_reset()'));
    await withClient(url, async (client) => {
      for (let i = 1; i <= 60; i++) await client.query('SELECT id, body FROM public.tickets WHERE requester = $1', [i]);
    });
  }, 120_000);
  afterAll(() => server?.stop());

  it('waits a moment once per statement, then reports the proposal unverified', async () => {
    const holder = await session(url, 'lock-holder', 'BEGIN', 'LOCK TABLE public.tickets IN ACCESS EXCLUSIVE MODE');
    const monitor = await monitorLocks(url);
    try {
      const result = await scan(url, '--rules', 'missing-index,duplicate-index', '--fail-on', 'none');
      const observed = await monitor.stop();
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout) as Report;
      const proposal = report.findings.find((f) => f.rule === 'missing-index');
      expect(proposal?.target).toMatchObject({ schema: 'public', table: 'tickets' });
      expect(proposal?.evidence.verificationNote).toBe('its table is locked by another session (waited 200ms)');
      // The drop check planned the other statements, not the one on the locked table.
      expect(report.findings.find((f) => f.rule === 'duplicate-index')?.evidence).toMatchObject({ plansChecked: 1, plansChanged: 0 });
      const waits = waitsOfPerfaudit(observed);
      expect(waits.map((wait) => [wait.lock, wait.blocker])).toEqual([['relation tickets AccessShareLock', 'lock-holder']]);
      expect(waits[0]?.maxMs).toBeLessThan(1_000);
    } finally {
      await monitor.stop().catch(() => undefined);
      await holder.end();
    }
  });
});

describe('scans under a write load', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase();
    await db.run(`CREATE SCHEMA app;
      CREATE EXTENSION pgstattuple;
      CREATE TABLE app.accounts (id int PRIMARY KEY, balance bigint NOT NULL DEFAULT 0, email text);
      CREATE INDEX accounts_email_idx ON app.accounts (lower(email));
      CREATE TABLE app.transfers (id bigserial PRIMARY KEY, account_id int NOT NULL REFERENCES app.accounts, amount int, note text);
      CREATE INDEX transfers_open_idx ON app.transfers (account_id) WHERE note IS NULL;
      INSERT INTO app.accounts SELECT g, 0, 'user' || g || '@example.com' FROM generate_series(1, 1000) g;
      INSERT INTO app.transfers (account_id, amount) SELECT 1 + g % 1000, g FROM generate_series(1, 20000) g;
      ANALYZE;`);
  });
  afterAll(() => db.drop());

  // Two scan loops (one with --exact, which reads the relations with pgstattuple) beside four
  // writers and a session building and dropping an index concurrently.
  it('never holds a lock a writer waits for, and waits for none itself', async () => {
    const monitor = await monitorLocks(db.url);
    const load = await startWriteLoad(db.url, 4);
    const codes: number[] = [];
    const until = Date.now() + 12_000;
    const scanLoop = async (run: () => Promise<{ code: number }>) => {
      while (Date.now() < until) codes.push((await run()).code);
    };
    try {
      await Promise.all([scanLoop(() => scan(db.url)), scanLoop(() => exactScan(db.url))]);
    } finally {
      await load.stop();
    }
    const observed = await monitor.stop();
    expect(codes.length).toBeGreaterThanOrEqual(2);
    expect(codes.filter((code) => code !== 0 && code !== 1)).toEqual([]);
    expect(load.statements()).toBeGreaterThan(100);
    expect(observed.polls).toBeGreaterThan(100);
    expect(waitsOnPerfaudit(observed).filter((wait) => wait.waiter === 'writer')).toEqual([]);
    // CREATE INDEX CONCURRENTLY waits for every older snapshot, a scan's too, but never for a lock on a table.
    const onPerfaudit = waitsOnPerfaudit(observed);
    expect(onPerfaudit.filter((wait) => !wait.lock.startsWith('virtualxid'))).toEqual([]);
    expect(onPerfaudit.filter((wait) => wait.maxMs > 5_000)).toEqual([]);
    expect(waitsOfPerfaudit(observed).filter((wait) => wait.maxMs > SCAN_SESSION.lockTimeoutMs)).toEqual([]);
  }, 120_000);
});

/**
 * `writers` sessions (application_name writer) inserting, updating and deleting at random,
 * and one (ddl) building and dropping an index concurrently and analyzing, until stop().
 */
async function startWriteLoad(url: string, writers: number): Promise<{ stop(): Promise<void>; statements(): number }> {
  let stopped = false;
  let statements = 0;
  const random = (n: number) => 1 + Math.floor(Math.random() * n);
  const writes = [
    (c: pg.Client) => c.query('INSERT INTO app.transfers (account_id, amount, note) VALUES ($1, $2, $3)', [random(1000), random(100), random(2) === 1 ? null : 'x']),
    (c: pg.Client) => c.query('UPDATE app.accounts SET balance = balance + $2 WHERE id = $1', [random(1000), random(100)]),
    (c: pg.Client) => c.query('DELETE FROM app.transfers WHERE id = $1', [random(20_000)]),
  ];
  const ddl = [
    'CREATE INDEX CONCURRENTLY transfers_amount_idx ON app.transfers (amount)',
    'DROP INDEX CONCURRENTLY app.transfers_amount_idx',
    'ANALYZE app.accounts',
  ];
  const loop = async (name: string, step: (client: pg.Client, i: number) => Promise<unknown>) => {
    const client = await session(url, name);
    try {
      for (let i = 0; !stopped; i++) {
        await step(client, i);
        statements++;
      }
    } finally {
      await client.end();
    }
  };
  const running = [
    ...Array.from({ length: writers }, () => loop('writer', (client) => writes[random(writes.length) - 1]!(client))),
    loop('ddl', (client, i) => client.query(ddl[i % ddl.length]!)),
  ];
  return {
    statements: () => statements,
    async stop() {
      stopped = true;
      await Promise.all(running);
    },
  };
}
