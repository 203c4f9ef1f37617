import { join } from 'node:path';
import { parseStatements } from '../parse/statements.js';
import { lockImpact } from '../report/sql.js';
import type { Plan, PlanStep } from './plan.js';
import { quoteLiteral } from './quote.js';

export const MIGRATION_TOOLS = ['plain', 'goose', 'dbmate', 'golang-migrate', 'flyway'] as const;
export type MigrationTool = (typeof MIGRATION_TOOLS)[number];

/** One file to write: `path` is the output file, or a name inside the output directory. */
export interface MigrationFile {
  readonly path: string;
  readonly content: string;
}

export interface MigrationContext {
  /** Database the plan was made for, and when (ISO timestamp): named in the headers. */
  readonly database: string;
  readonly startedAt: string;
}

const LOCK_TIMEOUT = "SET lock_timeout = '5s';";
// For the one-statement-per-file tools: a SET in the same file would be sent in the same
// query as the statement (an implicit transaction that CONCURRENTLY refuses), so say it instead.
const LOCK_TIMEOUT_NOTE = "-- Set lock_timeout (e.g. '5s') for the migration role or in the connection URL (options=-c lock_timeout=5s): a SET here would share the statement's query.";
const RERUN_NOTE = [
  '-- Re-runs: every statement uses IF [NOT] EXISTS. A failed CREATE INDEX CONCURRENTLY leaves',
  '-- an INVALID index that IF NOT EXISTS would then skip; this tool cannot run psql meta-commands',
  '-- (and CONCURRENTLY cannot run in a DO block), so before re-running after a failure, drop any',
  '-- leftover listed by: SELECT indexrelid::regclass FROM pg_index WHERE NOT indisvalid;',
];

/**
 * A plan as the files a migration tool runs: `plain` is a psql script (with a `\gexec`
 * guard that drops an INVALID leftover before each concurrent build), the others carry
 * the headers their tool needs to run statements outside a transaction, and a down
 * migration made of every action's undo, in reverse order. Pure: nothing is written.
 *
 * Paths: `plain`, `goose` return one file at `output`; `flyway` returns `output` and
 * `output.conf`; `golang-migrate` returns names relative to the output directory; `dbmate`
 * returns one file per statement inside the `output` directory (or, without `output`,
 * one text with them all, each under a `-- file:` line).
 */
export async function migrationFiles(tool: MigrationTool, plan: Plan, context: MigrationContext, output: string): Promise<MigrationFile[]> {
  const runnable = plan.steps.filter((step) => step.action.kind !== 'manual');
  const undos = runnable.flatMap((step) => (step.action.undo ? [step.action.undo] : [])).reverse();
  const heading = `-- perfaudit fixes for database ${oneLine(context.database)} (${oneLine(context.startedAt)})`;
  switch (tool) {
    case 'plain':
      return [{ path: output, content: await plainScript(plan, heading) }];
    case 'goose':
      return [{
        path: output,
        content: lines([
          '-- +goose NO TRANSACTION',
          '-- +goose Up',
          heading,
          ...RERUN_NOTE,
          LOCK_TIMEOUT,
          ...body(plan),
          '',
          '-- +goose Down',
          LOCK_TIMEOUT,
          ...undos,
        ]),
      }];
    case 'dbmate':
      return dbmate(runnable, heading, output);
    case 'flyway':
      return [
        { path: output, content: lines([heading, '-- Flyway runs this outside a transaction (executeInTransaction=false in the .sql.conf).', ...RERUN_NOTE, LOCK_TIMEOUT, ...body(plan)]) },
        { path: `${output}.conf`, content: 'executeInTransaction=false\n' },
      ];
    case 'golang-migrate':
      return golangMigrate(runnable, heading);
  }
}

/** Flyway's default migration name: `V<yyyymmddhhmmss>__perfaudit.sql` from the scan time, else `V1__perfaudit.sql`. */
export function flywayFileName(startedAt: string): string {
  const stamp = startedAt.replace(/\D/g, '').slice(0, 14);
  return `V${stamp.length === 14 ? stamp : '1'}__perfaudit.sql`;
}

async function plainScript(plan: Plan, heading: string): Promise<string> {
  const out = [
    heading,
    '-- Run with: psql -X -v ON_ERROR_STOP=1 -f THIS_FILE. Do not wrap it in a transaction:',
    '-- statements marked "not transactional" (CONCURRENTLY) refuse to run inside one.',
    '-- Safe to re-run: IF [NOT] EXISTS everywhere, and each concurrent build first drops an',
    '-- INVALID index of the same name left by a failed build (psql \\gexec).',
    LOCK_TIMEOUT,
    'SET statement_timeout = 0;',
  ];
  for (const step of plan.steps) {
    out.push('', ...describe(step));
    if (step.action.kind === 'manual') continue;
    const guard = await invalidLeftoverGuard(step.action.sql);
    if (guard) out.push('-- drop an INVALID leftover of this index from a failed build, if any:', `${guard} \\gexec`);
    out.push(step.action.sql);
  }
  out.push(...held(plan));
  return lines(out);
}

// Statements and their comments, for the single-file migration tools.
function body(plan: Plan): string[] {
  const out: string[] = [];
  for (const step of plan.steps) {
    out.push('', ...describe(step));
    if (step.action.kind !== 'manual') out.push(step.action.sql);
  }
  return [...out, ...held(plan)];
}

function golangMigrate(steps: readonly PlanStep[], heading: string): MigrationFile[] {
  return steps.flatMap((step, index) => {
    const base = `${String(index + 1).padStart(4, '0')}_perfaudit_${step.action.kind.replace(/\W/g, '_')}`;
    const note = '-- golang-migrate: one statement per file, as CONCURRENTLY refuses the implicit transaction of a multi-statement query.';
    return [
      { path: `${base}.up.sql`, content: lines([heading, note, LOCK_TIMEOUT_NOTE, ...RERUN_NOTE, '', ...describe(step), step.action.sql]) },
      {
        path: `${base}.down.sql`,
        content: lines(step.action.undo
          ? [heading, LOCK_TIMEOUT_NOTE, `-- undo of: ${oneLine(step.action.sql)}`, step.action.undo]
          : [heading, `-- no undo for: ${oneLine(step.action.sql)}`]),
      },
    ];
  });
}

/**
 * dbmate sends each up/down section as ONE query, which PostgreSQL runs as an implicit
 * transaction that CONCURRENTLY refuses: so one migration per statement, each section
 * holding that statement alone (no SET beside it).
 */
function dbmate(steps: readonly PlanStep[], heading: string, output: string): MigrationFile[] {
  const note = '-- dbmate: one statement per file, as dbmate sends a section as one query (an implicit transaction, which CONCURRENTLY refuses).';
  const files = steps.map((step, index) => ({
    path: `${String(index + 1).padStart(4, '0')}_perfaudit_${step.action.kind.replace(/\W/g, '_')}.sql`,
    content: lines([
      '-- migrate:up transaction:false',
      heading,
      note,
      LOCK_TIMEOUT_NOTE,
      ...RERUN_NOTE,
      ...describe(step),
      step.action.sql,
      '',
      '-- migrate:down transaction:false',
      ...(step.action.undo ? [`-- undo of: ${oneLine(step.action.sql)}`, step.action.undo] : [`-- no undo for: ${oneLine(step.action.sql)}`]),
    ]),
  }));
  if (output) return files.map((file) => ({ ...file, path: join(output, file.path) }));
  // On stdout: every file, each under the name to save it as.
  return [{ path: '', content: files.length > 0 ? files.map((file) => `-- file: ${file.path}\n${file.content}`).join('\n') : lines([heading, '-- nothing to do']) }];
}

function describe(step: PlanStep): string[] {
  const { action } = step;
  const out = step.findings.map((finding) => `-- ${oneLine(finding.severity)} ${oneLine(finding.rule)}: ${oneLine(finding.message)}`);
  if (action.kind === 'manual') {
    return [...out, '-- manual step, not run by this migration:', ...action.sql.split('\n').map((line) => `--   ${line}`)];
  }
  const locking = `${action.lock ? `lock ${oneLine(action.lock)}` : 'no table lock'} (${lockImpact(action.lock)})`;
  return [...out, `-- ${locking}; ${action.transactional ? 'transactional' : 'not transactional'}`];
}

function held(plan: Plan): string[] {
  return plan.held.map((step) => `\n-- held back: ${oneLine(step.action.sql)} (${oneLine(step.reason)})`);
}

/**
 * For `CREATE INDEX CONCURRENTLY IF NOT EXISTS name ON schema.table …`, a query whose
 * `\gexec` drops an INVALID index `schema.name`; undefined for any other statement.
 * The names come from PostgreSQL's own parser, never from pattern matching.
 */
export async function invalidLeftoverGuard(sql: string): Promise<string | undefined> {
  const [statement, ...rest] = await parseStatements(sql, 'plan statement');
  if (!statement || rest.length > 0 || statement.kind !== 'IndexStmt') return undefined;
  const node = statement.node as { idxname?: string; concurrent?: boolean; if_not_exists?: boolean; relation?: { schemaname?: string } };
  if (!node.concurrent || !node.if_not_exists || !node.idxname) return undefined;
  const schema = node.relation?.schemaname;
  return "SELECT format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I', n.nspname, c.relname)"
    + ' FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace'
    + ` WHERE NOT i.indisvalid AND n.nspname = ${schema ? quoteLiteral(schema) : 'current_schema()'} AND c.relname = ${quoteLiteral(node.idxname)}`;
}

// A value inside a `--` comment: a newline in a hostile name must not end the comment.
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function lines(out: readonly string[]): string {
  return `${out.join('\n')}\n`;
}
