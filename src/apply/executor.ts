import { appendFile, writeFile } from 'node:fs/promises';
import type { ConnectionSettings } from '../connect/options.js';
import { openSession, tagged, type Session } from '../connect/session.js';
import type { PlanStep } from '../plan/plan.js';
import { watchProgress, type WatchedKind } from './progress.js';
import { createdIndex, droppedIndex, qualifyIndex, type IndexRef } from './sql-names.js';

export type Outcome = 'done' | 'skipped' | 'failed' | 'lock-timeout';

/** One line of the apply log. */
export interface LogEntry {
  sql: string;
  startedAt: string;
  durationMs: number;
  outcome: Outcome;
  attempts: number;
  error?: string;
}

export interface ExecuteOptions {
  readonly lockTimeoutMs: number;
  readonly maxRetries: number;
  /** First retry delay; each next one doubles (4 s → about two minutes over 5 retries). */
  readonly retryBaseMs: number;
  readonly log?: string | undefined;
  readonly say: (line: string) => void;
}

export interface ApplyResult {
  readonly entries: readonly LogEntry[];
  readonly interrupted: boolean;
}

const DROP_REASON_RULES = new Set(['duplicate-index', 'redundant-index', 'invalid-index']);

/**
 * The steps `apply` runs: index builds, drops of duplicate/redundant/invalid indexes (and
 * of unused ones only when `unused-index` was named), VACUUM and ANALYZE. Never table
 * changes, reindexes or manual steps.
 */
export function applicableSteps(steps: readonly PlanStep[], only: readonly string[] | undefined): PlanStep[] {
  const dropUnused = only?.includes('unused-index') ?? false;
  return steps.filter(({ action, findings }) => {
    switch (action.kind) {
      case 'create-index': case 'vacuum': case 'analyze': return true;
      case 'drop-index': return findings.some((f) => DROP_REASON_RULES.has(f.rule) || (dropUnused && f.rule === 'unused-index'));
      default: return false;
    }
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function errorText(error: unknown): string {
  return (error as Error)?.message ?? String(error);
}

/** Runs the steps one statement per call, outside any transaction, re-checking each first. */
export async function executeSteps(settings: ConnectionSettings, steps: readonly PlanStep[], options: ExecuteOptions): Promise<ApplyResult> {
  const entries: LogEntry[] = [];
  if (options.log) await writeFile(options.log, '');
  const sessionOptions = { readOnly: false, statementTimeoutMs: 0, lockTimeoutMs: options.lockTimeoutMs } as const;
  let session: Session = await openSession(settings, sessionOptions);
  let backendPid = await pidOf(session);
  let interrupted = false;
  let running = false;

  const onSigint = () => {
    if (interrupted) return;
    interrupted = true;
    options.say('interrupted: cancelling the running statement');
    if (!running) return;
    void (async () => {
      const canceller = await openSession(settings, { readOnly: true, statementTimeoutMs: 10_000, lockTimeoutMs: 2_000 });
      try {
        await canceller.client.query(tagged('SELECT pg_cancel_backend($1)'), [backendPid]);
      } finally {
        await closeSession(canceller);
      }
    })().catch((error) => options.say(`could not cancel: ${errorText(error)}`));
  };
  process.on('SIGINT', onSigint);

  const reconnect = async () => {
    await closeSession(session);
    session = await openSession(settings, sessionOptions);
    backendPid = await pidOf(session);
  };

  const record = async (entry: LogEntry) => {
    entries.push(entry);
    if (options.log) await appendFile(options.log, `${JSON.stringify(entry)}\n`);
  };

  /**
   * Runs one statement with the lock-timeout retries; reports how it went. For index
   * builds and VACUUM (`watch`), a second connection reports progress while it runs.
   */
  const runStatement = async (sql: string, created: IndexRef | undefined, watch?: { kind: WatchedKind; prefix: string }): Promise<LogEntry> => {
    const startedAt = new Date();
    let attempts = 0;
    for (;;) {
      attempts++;
      // backendPid is the executing session's (taken once per connection, see pidOf).
      const watcher = watch ? watchProgress(settings, backendPid, watch.kind, watch.prefix) : undefined;
      try {
        running = true;
        try {
          await session.client.query(tagged(sql));
        } finally {
          await watcher?.stop(); // the statement ended, either way: stop polling
        }
        running = false;
        return { sql, startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), outcome: 'done', attempts };
      } catch (error) {
        running = false;
        const code = (error as { code?: string }).code;
        await reconnect().catch(() => undefined);
        if (created) await dropInvalid(created).catch(() => undefined);
        const base = { sql, startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), attempts, error: errorText(error) };
        if (code === '55P03' && !interrupted) {
          if (attempts <= options.maxRetries) {
            const delay = options.retryBaseMs * 2 ** (attempts - 1);
            options.say(`    lock timeout, retry ${attempts}/${options.maxRetries} in ${(delay / 1000).toFixed(1)} s`);
            await sleep(delay);
            continue;
          }
          return { ...base, outcome: 'lock-timeout' };
        }
        return { ...base, outcome: 'failed', error: interrupted ? `interrupted (${base.error})` : base.error };
      }
    }
  };

  /** Drops an INVALID index of that name (what a failed concurrent build leaves). */
  const dropInvalid = async (ref: IndexRef): Promise<boolean> => {
    const state = await indexState(session, ref);
    if (!state || state.valid) return false;
    const sql = `DROP INDEX ${state.partitioned ? '' : 'CONCURRENTLY '}IF EXISTS ${qualifyIndex(ref)};`;
    const started = Date.now();
    await session.client.query(tagged(sql));
    options.say(`    dropped the invalid index ${ref.schema}.${ref.name} left behind`);
    await record({ sql, startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, outcome: 'done', attempts: 1 });
    return true;
  };

  try {
    for (const [i, step] of steps.entries()) {
      const label = `[${i + 1}/${steps.length}] ${step.action.sql}`;
      if (interrupted) {
        await record({ sql: step.action.sql, startedAt: new Date().toISOString(), durationMs: 0, outcome: 'skipped', attempts: 0, error: 'interrupted' });
        options.say(`${label} skipped: interrupted`);
        continue;
      }
      const skip = await recheck(step, session, dropInvalid);
      if (skip) {
        await record({ sql: step.action.sql, startedAt: new Date().toISOString(), durationMs: 0, outcome: 'skipped', attempts: 0, error: skip });
        options.say(`${label} skipped: ${skip}`);
        continue;
      }
      const created = step.action.kind === 'create-index' ? createdIndex(step.action.sql) : undefined;
      const kind = step.action.kind;
      const watch = kind === 'create-index' || kind === 'vacuum' ? { kind, prefix: `[${i + 1}/${steps.length}]` } : undefined;
      const entry = await runStatement(step.action.sql, created, watch);
      await record(entry);
      const seconds = (entry.durationMs / 1000).toFixed(1);
      options.say(entry.outcome === 'done' ? `${label} done in ${seconds} s`
        : entry.outcome === 'lock-timeout' ? `${label} gave up after ${entry.attempts} lock timeouts; moving on`
          : `${label} failed: ${entry.error}`);
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    await closeSession(session);
  }
  return { entries, interrupted };
}

/** Why a step is no longer needed or safe, or undefined to run it. */
async function recheck(step: PlanStep, session: Session, dropInvalid: (ref: IndexRef) => Promise<boolean>): Promise<string | undefined> {
  const { kind, sql } = step.action;
  if (kind === 'create-index') {
    const created = createdIndex(sql);
    if (!created) return undefined; // ATTACH PARTITION: idempotent
    const state = await indexState(session, created);
    if (state?.valid) return `index ${created.schema}.${created.name} already exists`;
    if (state) await dropInvalid(created);
    return undefined;
  }
  if (kind === 'drop-index') {
    const dropped = droppedIndex(sql);
    if (!dropped) return 'cannot tell which index it drops';
    const state = await indexState(session, dropped);
    if (!state) return `index ${dropped.schema}.${dropped.name} no longer exists`;
    if (state.constraint) return `index ${dropped.schema}.${dropped.name} backs constraint ${state.constraint}`;
    const kept = step.action.dependsOn;
    if (kept) {
      const keeping = await indexState(session, kept);
      if (!keeping?.valid) return `the index that makes the drop safe (${kept.schema}.${kept.name}) is gone or invalid`;
    }
  }
  return undefined;
}

interface IndexState {
  readonly valid: boolean;
  readonly partitioned: boolean;
  readonly constraint: string | null;
}

async function indexState(session: Session, ref: IndexRef): Promise<IndexState | undefined> {
  const result = await session.client.query<{ valid: boolean; partitioned: boolean; constraint: string | null }>(tagged(`
    SELECT i.indisvalid AS valid, c.relkind = 'I' AS partitioned,
      (SELECT string_agg(con.conname, ', ') FROM pg_catalog.pg_constraint con WHERE con.conindid = c.oid) AS "constraint"
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
    WHERE n.nspname = $1 AND c.relname = $2`), [ref.schema, ref.name]);
  return result.rows[0];
}

async function pidOf(session: Session): Promise<number> {
  const result = await session.client.query<{ pid: number }>(tagged('SELECT pg_backend_pid() AS pid'));
  return result.rows[0]?.pid ?? 0;
}

// The statements here go through the pg client directly, so Kysely never opened its
// pool and destroying it would not end the connection: end the client too.
async function closeSession(session: Session): Promise<void> {
  await session.close().catch(() => undefined);
  await session.client.end().catch(() => undefined);
}
