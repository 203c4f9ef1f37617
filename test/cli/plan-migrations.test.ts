import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStatements } from '../../src/parse/statements.js';
import { runCli } from '../helpers/cli.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';

const run = promisify(execFile);

interface JsonStep { kind: string; sql: string; undo?: string }

// Each non-comment line is one statement as PostgreSQL parses it (a psql `\gexec` guard
// is its query); returns them in order.
async function statementsOf(text: string): Promise<string[]> {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('--')) continue;
    const sql = line.replace(/ \\gexec$/, '');
    const parsed = await parseStatements(sql);
    expect(parsed, line).toHaveLength(1);
    out.push(line);
  }
  return out;
}

describe('perfaudit plan --migration-tool', () => {
  let db: TestDatabase;
  let tmp: string;
  let steps: JsonStep[];
  beforeAll(async () => {
    db = await createDatabase('missing-fk-index');
    await db.run(`
      CREATE INDEX features_title_a ON app.features (title);
      CREATE INDEX features_title_b ON app.features (title);`);
    tmp = await mkdtemp(join(tmpdir(), 'perfaudit-plan-'));
    const json = await runCli(['plan', '-d', db.url, '--format', 'json', '--only', 'missing-fk-index,duplicate-index']);
    expect(json.code).toBe(0);
    steps = JSON.parse(json.stdout).steps;
  });
  afterAll(async () => {
    await db.drop();
    await rm(tmp, { recursive: true, force: true });
  });

  const undos = () => steps.flatMap((step) => (step.undo ? [step.undo] : [])).reverse();
  const sqls = () => steps.filter((step) => step.kind !== 'manual').map((step) => step.sql);
  const plan = async (tool: string, output: string) => {
    const result = await runCli(['plan', '-d', db.url, '--only', 'missing-fk-index,duplicate-index', '--migration-tool', tool, '--output', output]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  };

  it('has a drop with an undo and builds with undos to exercise', () => {
    expect(steps.map((step) => step.kind)).toEqual(expect.arrayContaining(['drop-index', 'create-index']));
    expect(undos().length).toBeGreaterThanOrEqual(2);
  });

  it('goose: NO TRANSACTION, Up with the statements, Down with the undos in reverse order', async () => {
    const file = join(tmp, '20260101000000_perfaudit.sql');
    await plan('goose', file);
    const text = await readFile(file, 'utf8');
    expect(text.startsWith('-- +goose NO TRANSACTION\n-- +goose Up\n')).toBe(true);
    const [up = '', down = ''] = text.split('\n-- +goose Down\n');
    expect(await statementsOf(up)).toEqual(["SET lock_timeout = '5s';", ...sqls()]);
    expect(await statementsOf(down)).toEqual(["SET lock_timeout = '5s';", ...undos()]);
    expect(up).toMatch(/-- warning missing-fk-index: .*\n-- lock SHARE UPDATE EXCLUSIVE \(online\); not transactional\nCREATE INDEX CONCURRENTLY IF NOT EXISTS/);
    expect(up).toContain('cannot run psql meta-commands');
  });

  it('dbmate: a directory of numbered migrations, one statement per up and down, no SET beside it', async () => {
    const dir = join(tmp, 'dbmate');
    await plan('dbmate', dir);
    const names = (await readdir(dir)).sort();
    const runnable = steps.filter((step) => step.kind !== 'manual');
    const base = (step: JsonStep, i: number) => `${String(i + 1).padStart(4, '0')}_perfaudit_${step.kind.replace('-', '_')}`;
    expect(names).toEqual(runnable.map((step, i) => `${base(step, i)}.sql`));
    for (const [i, step] of runnable.entries()) {
      const text = await readFile(join(dir, `${base(step, i)}.sql`), 'utf8');
      expect(text.startsWith('-- migrate:up transaction:false\n')).toBe(true);
      const [up = '', down = ''] = text.split('\n-- migrate:down transaction:false\n');
      expect(await statementsOf(up)).toEqual([step.sql]);
      expect(await statementsOf(down)).toEqual(step.undo ? [step.undo] : []);
      expect(up).toContain('lock_timeout');
    }
    // Without --output: all of them on stdout, each under its file name.
    const result = await runCli(['plan', '-d', db.url, '--only', 'missing-fk-index,duplicate-index', '--migration-tool', 'dbmate']);
    expect(result.code).toBe(0);
    expect(result.stdout.match(/^-- file: \d{4}_perfaudit_\w+\.sql$/gm)).toHaveLength(runnable.length);
  });

  it('golang-migrate: a directory of numbered up/down pairs, one statement each', async () => {
    const dir = join(tmp, 'migrate');
    await plan('golang-migrate', dir);
    const names = (await readdir(dir)).sort();
    const runnable = steps.filter((step) => step.kind !== 'manual');
    expect(names).toEqual(runnable.flatMap((step, i) => {
      const base = `${String(i + 1).padStart(4, '0')}_perfaudit_${step.kind.replace('-', '_')}`;
      return [`${base}.down.sql`, `${base}.up.sql`];
    }).sort());
    for (const [i, step] of runnable.entries()) {
      const base = `${String(i + 1).padStart(4, '0')}_perfaudit_${step.kind.replace('-', '_')}`;
      expect(await statementsOf(await readFile(join(dir, `${base}.up.sql`), 'utf8'))).toEqual([step.sql]);
      const down = await readFile(join(dir, `${base}.down.sql`), 'utf8');
      expect(await statementsOf(down)).toEqual(step.undo ? [step.undo] : []);
      if (!step.undo) expect(down).toContain('-- no undo for:');
    }
  });

  it('flyway: V…__perfaudit.sql and its .sql.conf with executeInTransaction=false', async () => {
    const dir = join(tmp, 'flyway');
    const file = join(tmp, 'V1__perfaudit.sql');
    await plan('flyway', file);
    expect(await readFile(`${file}.conf`, 'utf8')).toBe('executeInTransaction=false\n');
    expect(await statementsOf(await readFile(file, 'utf8'))).toEqual(["SET lock_timeout = '5s';", ...sqls()]);
    // Given a directory, it names the file from the scan time.
    await run('mkdir', ['-p', dir]);
    await plan('flyway', dir);
    const names = (await readdir(dir)).sort();
    expect(names).toHaveLength(2);
    expect(names[0]).toMatch(/^V\d{14}__perfaudit\.sql$/);
    expect(names[1]).toBe(`${names[0]}.conf`);
  });

  it('refuses golang-migrate without --output, and a tool with --format json', async () => {
    expect((await runCli(['plan', '-d', db.url, '--migration-tool', 'golang-migrate'])).code).toBe(2);
    expect((await runCli(['plan', '-d', db.url, '--migration-tool', 'goose', '--format', 'json'])).code).toBe(2);
  });

  it('plain: a psql script that runs twice, drops an INVALID leftover of a build and rebuilds it valid', async () => {
    const target = await createDatabase('missing-fk-index');
    try {
      const file = join(tmp, 'plain.sql');
      const result = await runCli(['plan', '-d', target.url, '--only', 'missing-fk-index', '--output', file]);
      expect(result.code).toBe(0);
      const text = await readFile(file, 'utf8');
      const statements = await statementsOf(text);
      expect(statements.slice(0, 2)).toEqual(["SET lock_timeout = '5s';", 'SET statement_timeout = 0;']);
      // A failed unique build with the name the plan proposes for app.features leaves an INVALID index.
      const build = statements.find((line) => line.startsWith('CREATE INDEX CONCURRENTLY') && line.includes(' ON app.features '));
      expect(build).toBeDefined();
      const [parsed] = await parseStatements(build ?? '');
      const name = (parsed?.node as { idxname: string }).idxname;
      const guard = statements[statements.indexOf(build ?? '') - 1];
      expect(guard).toBe("SELECT format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I', n.nspname, c.relname) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        + ` JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid AND n.nspname = 'app' AND c.relname = '${name}' \\gexec`);
      const invalid = 'SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid ORDER BY 1';
      const invalidBefore = await target.query(invalid); // the fixture's own, which this plan does not touch
      await target.run(`-- expect-error\nCREATE UNIQUE INDEX CONCURRENTLY ${name} ON app.features (project_id);`);
      const state = `SELECT i.indisvalid AS valid, i.indisunique AS unique FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = '${name}'`;
      expect(await target.query(state)).toEqual([{ valid: false, unique: true }]);

      for (let i = 0; i < 2; i++) await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file, target.url]);
      expect(await target.query(state)).toEqual([{ valid: true, unique: false }]);
      expect(await target.query(invalid)).toEqual(invalidBefore);
      expect((await target.scan(['missing-fk-index'])).findings).toEqual([]);
    } finally {
      await target.drop();
    }
  });
});

describe('perfaudit plan --migration-tool on hostile names', () => {
  it('keeps every finding message on one comment line', async () => {
    const db = await createDatabase('hostile-identifiers');
    const tmp = await mkdtemp(join(tmpdir(), 'perfaudit-plan-'));
    try {
      const file = join(tmp, 'goose.sql');
      const result = await runCli(['plan', '-d', db.url, '--migration-tool', 'goose', '--output', file]);
      expect(result.code).toBe(0);
      const text = await readFile(file, 'utf8');
      const code = text.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('--')).join('\n');
      const json = JSON.parse((await runCli(['plan', '-d', db.url, '--format', 'json'])).stdout) as { steps: JsonStep[] };
      const expected = json.steps.filter((step) => step.kind !== 'manual');
      expect(expected.length).toBeGreaterThan(0);
      // Comments stripped, what is left is exactly the SET, the statements and the undos.
      const parsed = await parseStatements(code);
      expect(parsed.map((statement) => statement.text.replace(/;$/, ''))).toEqual([
        "SET lock_timeout = '5s'", ...expected.map((step) => step.sql.replace(/;$/, '')),
        "SET lock_timeout = '5s'", ...expected.flatMap((step) => (step.undo ? [step.undo.replace(/;$/, '')] : [])).reverse(),
      ]);
    } finally {
      await db.drop();
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
