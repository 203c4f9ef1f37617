import type pg from 'pg';
import { UsageError } from '../errors.js';
import { quoteIdent } from '../plan/quote.js';
import type { ParsedStatement } from '../parse/statements.js';
import type { MigrationSource } from './files.js';
import type { Migration, MigrationStatement } from './migration.js';
import { listObjects, migrationTable, objectId, tableState, wasRewritten, type CatalogObject } from './observe.js';
import { targetName } from './target.js';

/** Where a migration statement is. */
export interface Origin {
  readonly file: string;
  readonly line: number;
}

/** What applying the new migrations showed. */
export interface Applied {
  /** The new migrations, statement by statement, with what the server saw. */
  readonly migrations: readonly Migration[];
  /** The statement that created each object of the new migrations still there at the end, by objectId. */
  readonly origins: ReadonlyMap<string, Origin>;
}

/**
 * How to run statements. On a throw-away server, roles that migrations grant to are
 * created (NOLOGIN) rather than failing the check; never on a server of the user's.
 */
export interface Runner {
  readonly client: pg.Client;
  readonly createMissingRoles: boolean;
}

/** Applies migrations that are already deployed: statement by statement, nothing observed. */
export async function applyDeployed(runner: Runner, sources: readonly MigrationSource[]): Promise<void> {
  for (const source of sources) {
    for (const statement of source.statements) {
      if (statement.kind !== 'TransactionStmt') await execute(runner, statement, source.file, false);
    }
  }
}

/**
 * Applies new migrations statement by statement, observing each: the table it acts on
 * (resolved before it runs), whether it rewrote that table, and the objects it created.
 * Transaction control is tracked, not executed: a statement inside a transaction block
 * runs in a transaction of its own, and one PostgreSQL refuses there (CONCURRENTLY)
 * is left out, as it would fail in production, and reported by its rule instead of
 * failing the check. `afterEach` runs after each file.
 */
export async function applyNew(runner: Runner, sources: readonly MigrationSource[], afterEach: (source: MigrationSource) => Promise<void>): Promise<Applied> {
  const { client } = runner;
  const origins = new Map<string, Origin>();
  let objects = await listObjects(client);
  const migrations: Migration[] = [];
  for (const source of sources) {
    const statements: MigrationStatement[] = [];
    let inTransaction = source.implicitTransaction;
    let lockTimeoutSet = false;
    for (const parsed of source.statements) {
      const observed = { line: parsed.line, text: parsed.text, kind: parsed.kind, node: parsed.node, inTransaction, lockTimeoutSet };
      if (parsed.kind === 'TransactionStmt') {
        inTransaction = opensTransaction(parsed.node) || source.implicitTransaction;
        statements.push({ ...observed, target: null });
        continue;
      }
      lockTimeoutSet = setsLockTimeout(parsed.node) ?? lockTimeoutSet;
      const name = targetName(parsed.kind, parsed.node);
      const before = name === null ? null : await tableState(client, name);
      await execute(runner, parsed, source.file, inTransaction);
      const rewritten = before !== null && (await wasRewritten(client, before));
      const newInFile = before !== null && origins.get(before.key)?.file === source.file;
      statements.push({ ...observed, target: before && migrationTable(before, newInFile, rewritten) });
      const now = await listObjects(client);
      for (const key of now.keys()) if (!objects.has(key)) origins.set(key, { file: source.file, line: parsed.line });
      objects = now;
    }
    migrations.push({ file: source.file, statements });
    await afterEach(source);
  }
  return { migrations, origins: byName(origins, objects) };
}

/** Origins keyed by the objects' final names (oids until then: a later rename keeps its origin). */
function byName(origins: ReadonlyMap<string, Origin>, objects: ReadonlyMap<string, CatalogObject>): Map<string, Origin> {
  const named = new Map<string, Origin>();
  for (const [key, origin] of origins) {
    const object = objects.get(key);
    if (object) named.set(objectId(key.startsWith('c') ? 'c' : 'r', object.schema, object.table, object.name), origin);
  }
  return named;
}

function opensTransaction(node: Readonly<Record<string, unknown>>): boolean {
  return node.kind === 'TRANS_STMT_BEGIN' || node.kind === 'TRANS_STMT_START';
}

/** true/false when the statement sets or resets lock_timeout; undefined otherwise. */
function setsLockTimeout(node: Readonly<Record<string, unknown>>): boolean | undefined {
  if (node.name !== 'lock_timeout') return undefined;
  if (node.kind !== 'VAR_SET_VALUE') return false;
  const value = (node.args as readonly { A_Const?: { ival?: { ival?: number }; sval?: { sval?: string } } }[] | undefined)?.[0]?.A_Const;
  const text = String(value?.ival?.ival ?? value?.sval?.sval ?? 0);
  return !/^0+\s*(ms|s|min|h|d)?$/i.test(text.trim());
}

const MISSING_ROLE = /^role "(.+)" does not exist$/;
const REFUSED_IN_TRANSACTION = '25001';

async function execute({ client, createMissingRoles }: Runner, statement: ParsedStatement, file: string, inTransaction: boolean): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await (inTransaction ? inOwnTransaction(client, statement.text) : client.query(statement.text));
      return;
    } catch (error) {
      if (inTransaction && (error as { code?: string }).code === REFUSED_IN_TRANSACTION) return;
      const role = MISSING_ROLE.exec((error as Error).message)?.[1];
      // Bounded by the roles one statement can name.
      if (createMissingRoles && role !== undefined && attempt < 10) {
        await client.query(`CREATE ROLE ${quoteIdent(role)} NOLOGIN`);
        continue;
      }
      throw failed(error, statement, file);
    }
  }
}

async function inOwnTransaction(client: pg.Client, sql: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(sql);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

/** `file:line: message`, the line being where PostgreSQL points, when it does. */
function failed(error: unknown, statement: ParsedStatement, file: string): UsageError {
  const { message, position } = error as { message: string; position?: string };
  const offset = position ? statement.text.slice(0, Number(position) - 1).split('\n').length - 1 : 0;
  return new UsageError(`migration ${file}:${statement.line + offset} failed: ${message}`);
}
