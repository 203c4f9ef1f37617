import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applicableSteps, type LogEntry } from '../../src/apply/executor.js';
import { droppedIndex } from '../../src/apply/sql-names.js';
import { runCli } from '../helpers/cli.js';
import { findingsOf } from '../helpers/findings.js';
import type { Analysis } from '../../src/analyze/engine.js';
import type { Snapshot } from '../../src/collect/snapshot.js';
import { parseStatements, type ParsedStatement } from '../../src/parse/statements.js';
import { buildPlan } from '../../src/plan/plan.js';
import type { Action, ActionKind } from '../../src/rule.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';
import { fingerprint, type Fingerprint } from '../helpers/fingerprint.js';

// The parse-tree node each kind of action must be, exactly one statement of it.
const EXPECTED_KIND: Readonly<Record<Exclude<ActionKind, 'manual'>, readonly string[]>> = {
  'create-index': ['IndexStmt', 'AlterTableStmt'], // AlterTableStmt: ALTER INDEX … ATTACH PARTITION
  'drop-index': ['DropStmt'],
  reindex: ['ReindexStmt'],
  'alter-table': ['AlterTableStmt'],
  vacuum: ['VacuumStmt'],
  analyze: ['VacuumStmt'],
};

// The node an undo must be: the inverse of its action.
const EXPECTED_UNDO: Partial<Record<ActionKind, readonly string[]>> = {
  'create-index': ['DropStmt'],
  'drop-index': ['IndexStmt'],
};

interface RangeVar { schemaname?: string; relname?: string }
interface StringNode { String?: { sval?: string } }

const kindOf = (statements: readonly ParsedStatement[]): string[] => statements.map((statement) => statement.kind);

const SCHEMAS = ['Hostile "Schema"; --', 'Ünïcødé 表'];

/** The `schema.name` of the index a CREATE INDEX statement builds, else undefined. */
function builtIndex(statement: ParsedStatement | undefined): string | undefined {
  if (statement?.kind !== 'IndexStmt') return undefined;
  const node = statement.node as { idxname?: string; relation?: RangeVar };
  return `${node.relation?.schemaname}.${node.idxname}`;
}

/** Checks that a parsed statement names relations and columns that exist, by their raw names. */
function checkNames(statement: ParsedStatement, snapshot: Snapshot, created: ReadonlySet<string>): void {
  const tableBy = (schema: string | undefined, name: string | undefined) =>
    snapshot.tables.find((table) => table.schema === schema && table.name === name);
  if (statement.kind === 'IndexStmt') {
    const node = statement.node as { idxname?: string; relation?: RangeVar; indexParams?: Array<{ IndexElem?: { name?: string } }> };
    const table = tableBy(node.relation?.schemaname, node.relation?.relname);
    expect(table, `${statement.text}: table ${node.relation?.schemaname}.${node.relation?.relname}`).toBeDefined();
    for (const param of node.indexParams ?? []) {
      const column = param.IndexElem?.name;
      expect(table?.columns.map((c) => c.name), statement.text).toContain(column);
    }
    expect(Buffer.byteLength(node.idxname ?? '')).toBeLessThanOrEqual(63);
  }
  if (statement.kind === 'AlterTableStmt') {
    const node = statement.node as { relation?: RangeVar; objtype?: string; cmds?: Array<{ AlterTableCmd?: { subtype?: string; def?: { PartitionCmd?: { name?: RangeVar } } } }> };
    const cmd = node.cmds?.[0]?.AlterTableCmd;
    if (node.objtype === 'OBJECT_INDEX' && cmd?.subtype === 'AT_AttachPartition') {
      expect(node.cmds, statement.text).toHaveLength(1);
      const parent = `${node.relation?.schemaname}.${node.relation?.relname}`;
      const child = cmd.def?.PartitionCmd?.name;
      expect(created, `${statement.text}: parent index ${parent}`).toContain(parent);
      expect(created, `${statement.text}: partition index`).toContain(`${child?.schemaname}.${child?.relname}`);
    }
  }
  if (statement.kind === 'DropStmt') {
    const node = statement.node as { removeType?: string; objects?: Array<{ List?: { items?: StringNode[] } }> };
    for (const object of node.objects ?? []) {
      const [schema, name] = (object.List?.items ?? []).map((item) => item.String?.sval);
      const known = snapshot.indexes.some((index) => index.schema === schema && index.name === name) || created.has(`${schema}.${name}`);
      expect(known, `${statement.text}: ${schema}.${name}`).toBe(true);
    }
  }
}

describe('hostile identifiers', () => {
  let db: TestDatabase;
  let snapshot: Snapshot;
  let analysis: Analysis;
  let before: Fingerprint;
  beforeAll(async () => {
    db = await createDatabase('hostile-identifiers');
    snapshot = await db.snapshot();
    analysis = await db.scan();
    before = await fingerprint(db, SCHEMAS);
  });
  afterAll(() => db.drop());

  it('finds every planted unindexed foreign key under its raw names', () => {
    const targets = analysis.findings
      .filter((finding) => finding.rule === 'missing-fk-index')
      .map((finding) => `${finding.target.schema}.${finding.target.table}(${finding.target.columns.join(', ')})`)
      .sort();
    expect(targets).toEqual([
      'Hostile "Schema"; --.-- not a comment /* nor this */(--col)',
      'Hostile "Schema"; --.-- not a comment /* nor this */(/* col */)',
      'Hostile "Schema"; --.Child;Table(Parent ID)',
      'Hostile "Schema"; --.Composite "Child"(Tenant ID, Parent ID)',
      'Hostile "Schema"; --.Events "Part"; --(Parent ID)',
      'Hostile "Schema"; --.a$b(x$y)',
      'Hostile "Schema"; --.long_table_name_that_is_exactly_sixty_three_bytes_long_for_tes2(referencing_column_name_that_is_also_exactly_sixty_three_bytes_)',
      'Hostile "Schema"; --.long_table_name_that_is_exactly_sixty_three_bytes_long_for_test(referencing_column_name_that_is_also_exactly_sixty_three_bytes_)',
      'Hostile "Schema"; --.user(order)',
      'Ünïcødé 表.Ünïcødé 表(Ünïcødé 表 parent)',
      'Ünïcødé 表.é表é表é表é表é表é表é表é表é表é表é表é表aé(ÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜx)',
      'Ünïcødé 表.表表表表表表表表表表表表表表表表表表表表表(表 parent)',
    ].sort());
  });

  it('renders every action and undo as exactly one statement of the expected kind, naming real objects', async () => {
    const actions: Action[] = analysis.findings.flatMap((finding) => finding.actions);
    expect(actions.length).toBeGreaterThan(12);
    // Indexes the plan creates, as schema.name, so ATTACH and undo statements can refer to them.
    const created = new Set<string>();
    for (const action of actions) {
      if (action.kind === 'manual') {
        // Manual steps are advice; whatever SQL they carry must still parse.
        await parseStatements(action.sql, 'manual action');
        continue;
      }
      const statements = await parseStatements(action.sql, action.sql);
      expect(kindOf(statements), action.sql).toHaveLength(1);
      expect(EXPECTED_KIND[action.kind], action.sql).toContain(statements[0]?.kind);
      const statement = statements[0];
      const built = builtIndex(statement);
      if (built) created.add(built);
      if (statement) checkNames(statement, snapshot, created);
      if (action.undo !== undefined) {
        const undo = await parseStatements(action.undo, action.undo);
        expect(kindOf(undo), action.undo).toHaveLength(1);
        const expected = EXPECTED_UNDO[action.kind];
        if (expected) expect(expected, action.undo).toContain(undo[0]?.kind);
        if (undo[0]) checkNames(undo[0], snapshot, created);
      }
    }
  });

  it('generates index names of at most 63 bytes, unique, and free in their schema', async () => {
    const names: string[] = [];
    for (const action of analysis.findings.flatMap((finding) => finding.actions)) {
      if (action.kind !== 'create-index') continue;
      const [statement] = await parseStatements(action.sql);
      if (statement?.kind !== 'IndexStmt') continue;
      const node = statement.node as { idxname?: string; relation?: RangeVar };
      const name = node.idxname ?? '';
      expect(Buffer.byteLength(name), name).toBeLessThanOrEqual(63);
      expect(snapshot.tables.some((t) => t.schema === node.relation?.schemaname && t.name === name), name).toBe(false);
      expect(snapshot.indexes.some((i) => i.schema === node.relation?.schemaname && i.name === name), name).toBe(false);
      names.push(`${node.relation?.schemaname}.${name}`);
    }
    expect(names.length).toBeGreaterThanOrEqual(17);
    expect(new Set(names).size).toBe(names.length);
    // The natural name is a table's already: a counter keeps them apart.
    expect(names).toContain('Hostile "Schema"; --.Child;Table_Parent ID_idx1');
  });

  it('applies the plan in order, after which no foreign key is unindexed and no row has changed', async () => {
    const plan = buildPlan(analysis.findings).steps.filter((step) => step.action.kind !== 'manual');
    expect(plan.length).toBeGreaterThan(12);
    const createdNames: string[] = [];
    for (const { action } of plan) {
      await db.run(action.sql);
      const [statement] = await parseStatements(action.sql);
      if (statement?.kind === 'IndexStmt') createdNames.push((statement.node as { idxname: string }).idxname);
    }
    expect((await db.scan(['missing-fk-index'])).findings).toEqual([]);

    // Every created index exists under exactly its generated name (not truncated) and is valid.
    const rows = await db.query<{ name: string; valid: boolean }>(`
      SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.relname = ANY($1::text[])`, [createdNames]);
    expect(rows.map((row) => row.name).sort()).toEqual([...createdNames].sort());
    expect(rows.filter((row) => !row.valid)).toEqual([]);

    const after = await fingerprint(db, SCHEMAS);
    expect({ ...after, indexes: {} }).toEqual({ ...before, indexes: {} });
    expect(Object.values(before.data).reduce((sum, line) => sum + Number(line.split(' ')[0]), 0)).toBeGreaterThan(4000);
  });

  // A sequence, view or composite type holding the natural name would make
  // CREATE INDEX … IF NOT EXISTS skip silently, leaving the FK unindexed.
  it('never proposes an index name held by a sequence, view or composite type', async () => {
    const other = await createDatabase();
    try {
      await other.run(`
        CREATE TABLE parent (id int PRIMARY KEY);
        CREATE TABLE a (id int PRIMARY KEY, p int REFERENCES parent);
        CREATE TABLE b (id int PRIMARY KEY, p int REFERENCES parent);
        CREATE TABLE c (id int PRIMARY KEY, p int REFERENCES parent);
        CREATE SEQUENCE a_p_idx;
        CREATE VIEW b_p_idx AS SELECT 1 AS one;
        CREATE TYPE c_p_idx AS (x int);`);
      const sql = findingsOf(await other.scan(['missing-fk-index']), 'missing-fk-index').flatMap((finding) => finding.sql);
      expect(sql).toEqual([
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS a_p_idx1 ON public.a (p);',
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS b_p_idx1 ON public.b (p);',
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS c_p_idx1 ON public.c (p);',
      ]);
    } finally {
      await other.drop();
    }
  });

  it('finds nothing left to do after the plan', async () => {
    const after = await db.scan();
    expect(after.findings.filter((finding) => finding.rule === 'missing-fk-index')).toEqual([]);
  });
});

describe('hostile identifiers through perfaudit apply', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('hostile-identifiers');
  });
  afterAll(() => db.drop());

  it('runs every safe step, after which those rules find nothing to do and nothing but the indexes has changed', async () => {
    const steps = applicableSteps(buildPlan((await db.scan()).findings).steps, undefined);
    const before = await fingerprint(db, SCHEMAS);
    const log = join(mkdtempSync(join(tmpdir(), 'perfaudit-hostile-')), 'apply.jsonl');
    const result = await runCli(['apply', '-d', db.url, '--yes', '--log', log]);
    expect(result.stderr).toMatch(new RegExp(`\\n${steps.length} done, 0 skipped, 0 failed, 0 gave up on lock timeouts\\n$`));
    expect(result.code).toBe(0);

    // Exactly the plan's safe steps, in order, each one statement of its kind.
    const entries = readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as LogEntry);
    expect(entries.map((entry) => [entry.sql, entry.outcome])).toEqual(steps.map((step) => [step.action.sql, 'done']));
    const created: string[] = [];
    const dropped: string[] = [];
    for (const { action } of steps) {
      const statements = await parseStatements(action.sql);
      expect(kindOf(statements), action.sql).toEqual([expect.toBeOneOf([...EXPECTED_KIND[action.kind as Exclude<ActionKind, 'manual'>]])]);
      const built = builtIndex(statements[0]);
      if (built) created.push(built);
      const drop = action.kind === 'drop-index' ? droppedIndex(action.sql) : undefined;
      if (drop) dropped.push(`${drop.schema}.${drop.name}`);
    }

    const rules = [...new Set(steps.flatMap((step) => step.findings.map((finding) => finding.rule)))].sort();
    expect(rules).toEqual(['duplicate-index', 'missing-fk-index', 'redundant-index']);
    const left = (await db.scan(rules)).findings.filter((finding) => finding.actions.some((action) => action.kind !== 'manual'));
    expect(left).toEqual([]);

    const after = await fingerprint(db, SCHEMAS);
    expect({ ...after, indexes: {} }).toEqual({ ...before, indexes: {} });
    const kept = Object.fromEntries(Object.entries(before.indexes).filter(([name]) => !dropped.includes(name)));
    expect(Object.fromEntries(Object.entries(after.indexes).filter(([name]) => !created.includes(name)))).toEqual(kept);
    expect(Object.keys(after.indexes).sort()).toEqual([...Object.keys(kept), ...created].sort());
    expect(Object.entries(after.indexes).filter(([, definition]) => definition.endsWith(' INVALID'))).toEqual([]);
    expect(dropped.length).toBeGreaterThan(0);
    expect(created.length).toBeGreaterThanOrEqual(17);
  }, 120_000);
});
